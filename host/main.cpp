// citadel: the host executable. Argument parsing and wiring only.
#include <cstdio>
int main() { std::puts("citadel: skeleton"); return 0; }
