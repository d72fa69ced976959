// boundary_library.js - the imported JS function that bench/wasm/boundary.c calls: a plain
// function of fixed arity, like hakmem's hakmem_js_* functions.
mergeInto(LibraryManager.library, {
  bench_js_identity__sig: 'ii',
  bench_js_identity: function(x) {
    return x;
  },
});
