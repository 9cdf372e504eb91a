// tests/consumer: a small C++14 program built against an *installed* weft
// (through pkg-config, through CMake's find_package, and as a Meson
// subproject). It touches each part a user links against: the thread pool,
// async, promise/future with then and on_error, offload to the blocking pool
// (Boost.Thread, inside libweft), and, built with WEFT_CONSUMER_INTEROP, the
// boost::future bridge (<weft/interop.hpp>, which links Boost.Thread itself:
// weft-interop.pc, weft::interop). Without it the program links weft alone,
// which proves the core needs no Boost on the link line.
#include <weft/weft.hpp>
#ifdef WEFT_CONSUMER_INTEROP
#include <weft/interop.hpp>
#endif

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

int main() {
  weft::thread_pool pool(2);

  weft::future<int> answer = weft::async(pool, [] { return 6; }).then([](int x) { return x * 7; });

  weft::promise<std::string> p(pool);
  weft::future<std::size_t> length = p.get_future().then([](std::string s) { return s.size(); });
  p.set_value("weft");

  weft::future<int> recovered = weft::async(pool, []() -> int { throw std::runtime_error("boom"); })
                                    .on_error<std::runtime_error>([](std::runtime_error&) { return -1; });

  weft::future<int> blocking = weft::offload([] { return 5; });

  std::vector<weft::future<int>> parts;
  for (int i = 1; i <= 4; ++i) parts.push_back(weft::async(pool, [i] { return i; }));
  weft::future<int> sum = weft::when_all(parts).then([](std::vector<int> v) {
    int s = 0;
    for (int x : v) s += x;
    return s;
  });

#ifdef WEFT_CONSUMER_INTEROP
  auto bridged = weft::to_boost(weft::make_ready_future(3, pool));
#endif

  const int a = answer.get();
  const std::size_t b = length.get();
  const int c = recovered.get();
  const int d = blocking.get();
  const int e = sum.get();
#ifdef WEFT_CONSUMER_INTEROP
  const int f = bridged.get();
#else
  const int f = 3;  // no bridge in this build
#endif
  std::printf("weft consumer: answer=%d length=%zu recovered=%d offload=%d sum=%d boost=%d\n", a, b, c, d, e, f);
  const bool ok = a == 42 && b == 4 && c == -1 && d == 5 && e == 10 && f == 3;
  std::printf("weft consumer: %s\n", ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
