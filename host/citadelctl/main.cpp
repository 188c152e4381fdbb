// citadelctl: the admin CLI. Argument parsing and wiring only.
#include <cstdio>
int main() { std::puts("citadelctl: skeleton"); return 0; }
