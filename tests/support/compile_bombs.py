"""C++ programs that keep the compiler busy for minutes while staying small, for the compile-time tests.

Each would compile for far longer than any compile limit (the ones that end at all end after minutes or with
the compiler out of memory), so under a limit of a few seconds the compile is always stopped by the limit:

- constexpr loops: many static_asserts, each evaluating a loop just under GCC's per-evaluation operation limit
  (-fconstexpr-ops-limit counts one evaluation, not the translation unit);
- template recursion: a binary tree of distinct instantiations, 2^40 leaves (memory grows ~100 MB/s);
- preprocessor expansion: a macro doubled 47 times inside `#if`, 2^47 tokens from 50 lines (~400 MB/s).

`SLOW_BUT_VALID_CPP` compiles (in about a second or two, spent in constexpr evaluation) into an honest a+b.
"""

CONSTEXPR_LOOPS = (
    "template <int Seed> constexpr long long spin() {\n"
    "  long long s = Seed;\n"
    "  for (long long i = 0; i < 1000; ++i)\n"
    "    for (long long j = 0; j < 1000; ++j) s += i ^ j;\n"
    "  return s;\n"
    "}\n" + "".join(f'static_assert(spin<{k}>() != 1, "");\n' for k in range(1, 400)) + "int main() {}\n"
)

TEMPLATE_RECURSION = (
    "template <int D, long long X> struct Tree {\n"
    "  static constexpr long long value = Tree<D - 1, 2 * X>::value + Tree<D - 1, 2 * X + 1>::value;\n"
    "};\n"
    "template <long long X> struct Tree<0, X> { static constexpr long long value = X & 1; };\n"
    'static_assert(Tree<40, 0>::value != 1, "");\n'
    "int main() {}\n"
)

PREPROCESSOR_EXPANSION = (
    "#define A0 +1\n"
    + "".join(f"#define A{i} A{i - 1} A{i - 1}\n" for i in range(1, 48))
    + "#if 0 A47\n#endif\nint main() {}\n"
)

COMPILE_BOMBS = {
    "constexpr loops": CONSTEXPR_LOOPS,
    "template recursion": TEMPLATE_RECURSION,
    "preprocessor expansion": PREPROCESSOR_EXPANSION,
}

SLOW_BUT_VALID_CPP = (
    "#include <cstdio>\n"
    "constexpr long long spin() {\n"
    "  long long s = 0;\n"
    "  for (long long i = 0; i < 600; ++i)\n"
    "    for (long long j = 0; j < 1000; ++j) s += i ^ j;\n"
    "  return s;\n"
    "}\n"
    "constexpr long long kSpun = spin();\n"
    'int main() { long long a, b; if (scanf("%lld %lld", &a, &b) != 2) return 1; printf("%lld\\n", a + b + 0 * kSpun); }\n'
)
