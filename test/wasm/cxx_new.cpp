// cxx_new.cpp — C++ allocation on a module linked with hakmem (test/emscripten.test.ts): new and
// delete, arrays, over-aligned types, the standard containers, std::bad_alloc, and a static
// constructor that allocates before main. Prints "ok <name>" / "FAIL <name>"; the exit code is
// the number of failures. Built with -fexceptions.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

static int failures;
static void check(const char *name, bool ok) {
  std::printf("%s %s\n", ok ? "ok" : "FAIL", name);
  if (!ok) failures++;
}

// Runs before main: the heap must exist by then.
static std::vector<std::string> *early = new std::vector<std::string>{"static", "constructors", "allocate"};

struct alignas(64) Line {
  std::uint64_t words[8];
};

struct Node {
  int key;
  Node *next;
  explicit Node(int k, Node *n) : key(k), next(n) {}
};

int main() {
  check("a static constructor allocated before main", early->size() == 3 && (*early)[1] == "constructors");
  delete early;

  // new/delete of single objects: a linked list of 100000 nodes, then checked and freed.
  Node *head = nullptr;
  for (int i = 0; i < 100000; i++) head = new Node(i, head);
  bool list_ok = true;
  int expect = 99999;
  while (head != nullptr) {
    list_ok &= head->key == expect--;
    Node *next = head->next;
    delete head;
    head = next;
  }
  check("new/delete of 100000 nodes", list_ok && expect == -1);

  // new[]/delete[] of growing arrays with their contents checked.
  bool arrays_ok = true;
  for (int n = 1; n < 200000; n = n * 3 + 1) {
    int *a = new int[n];
    for (int i = 0; i < n; i++) a[i] = i ^ n;
    for (int i = 0; i < n; i++) arrays_ok &= a[i] == (i ^ n);
    delete[] a;
  }
  check("new[]/delete[] up to 200000 ints", arrays_ok);

  // Over-aligned new (C++17 aligned operator new -> aligned_alloc/posix_memalign).
  bool aligned_ok = true;
  std::vector<Line *> lines;
  for (int i = 0; i < 1000; i++) {
    Line *l = new Line();
    aligned_ok &= (reinterpret_cast<std::uintptr_t>(l) & 63) == 0;
    l->words[7] = static_cast<std::uint64_t>(i);
    lines.push_back(l);
  }
  for (int i = 0; i < 1000; i++) aligned_ok &= lines[i]->words[7] == static_cast<std::uint64_t>(i);
  for (Line *l : lines) delete l;
  check("alignas(64) objects from new are 64-byte aligned", aligned_ok);

  // Standard containers: map, unordered_map, strings, shared_ptr.
  std::map<int, std::string> m;
  std::unordered_map<std::string, int> u;
  for (int i = 0; i < 20000; i++) {
    std::string s = "key-" + std::to_string(i * 7919 % 20000);
    m[i] = s;
    u[s] = i;
  }
  bool containers_ok = m.size() == 20000 && u.size() == 20000;
  for (int i = 0; i < 20000; i += 97) containers_ok &= u[m[i]] == i;
  m.clear();
  u.clear();
  auto shared = std::make_shared<std::vector<double>>(50000, 1.5);
  std::weak_ptr<std::vector<double>> weak = shared;
  containers_ok &= (*shared)[49999] == 1.5;
  shared.reset();
  containers_ok &= weak.expired();
  check("map, unordered_map, string, shared_ptr", containers_ok);

  // Allocation failure throws std::bad_alloc; nothrow new returns nullptr. (The results go
  // through a volatile pointer: the compiler may elide a new/delete pair it can see.)
  static char *volatile sink;
  volatile std::size_t huge = static_cast<std::size_t>(3) << 30;
  bool threw = false;
  try {
    sink = new char[huge];
  } catch (const std::bad_alloc &) {
    threw = true;
  }
  check("new of 3 GiB throws std::bad_alloc", threw);
  sink = new (std::nothrow) char[huge];
  check("new (std::nothrow) of 3 GiB returns nullptr", sink == nullptr);

  std::printf("%d failed\n", failures);
  return failures;
}
