// C++ runtime: iostream output, exceptions thrown through several frames and caught by type (the
// unwinder reads .eh_frame and restores registers), rethrow, destructors run during unwinding,
// std::string/vector/map, virtual calls and dynamic_cast, and a static constructor.
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>
#include <algorithm>

namespace {

int destroyed = 0;
std::string trace;

struct Guard {
    explicit Guard(char c) : c_(c) {}
    ~Guard() {
        destroyed++;
        trace += c_;
    }
    char c_;
};

struct Shape {
    virtual ~Shape() = default;
    virtual double area() const = 0;
    virtual std::string name() const = 0;
};
struct Square : Shape {
    explicit Square(double s) : s_(s) {}
    double area() const override { return s_ * s_; }
    std::string name() const override { return "square"; }
    double s_;
};
struct Circle : Shape {
    explicit Circle(double r) : r_(r) {}
    double area() const override { return 3.0 * r_ * r_; }
    std::string name() const override { return "circle"; }
    double r_;
};

struct StaticInit {
    StaticInit() { trace = "static-ctor;"; }
} static_init;

[[gnu::noinline]] int level3(int v) {
    Guard g('3');
    if (v > 2)
        throw std::out_of_range("level3: " + std::to_string(v));
    if (v < 0)
        throw v;
    return v * 10;
}

[[gnu::noinline]] int level2(int v) {
    Guard g('2');
    std::vector<int> big(1000, v);  // heap memory that must be freed while unwinding
    return level3(v) + big[999];
}

[[gnu::noinline]] int level1(int v) {
    Guard g('1');
    try {
        return level2(v);
    } catch (const std::logic_error &e) {
        trace += "[rethrow]";
        throw;
    }
}

}  // namespace

int main() {
    std::cout << "hello from iostream, " << 42 << ' ' << 2.5 << std::endl;
    std::cout << "static constructor ran: " << (trace == "static-ctor;") << std::endl;
    trace.clear();

    for (int v : {1, 5, -7}) {
        trace.clear();
        destroyed = 0;
        try {
            int r = level1(v);
            std::cout << "level1(" << v << ") = " << r;
        } catch (const std::out_of_range &e) {
            std::cout << "caught out_of_range: " << e.what();
        } catch (int i) {
            std::cout << "caught int " << i;
        }
        std::cout << ", destructors " << destroyed << " order " << trace << std::endl;
    }

    try {
        std::vector<int> v(3);
        v.at(10) = 1;
    } catch (const std::exception &e) {
        std::cout << "vector::at threw: " << (std::string(e.what()).find("range") != std::string::npos)
                  << std::endl;
    }

    std::vector<std::unique_ptr<Shape>> shapes;
    for (int i = 1; i <= 6; i++) {
        if (i % 2)
            shapes.push_back(std::make_unique<Square>(i));
        else
            shapes.push_back(std::make_unique<Circle>(i));
    }
    double total = 0;
    int squares = 0;
    for (const auto &s : shapes) {
        total += s->area();
        if (dynamic_cast<Square *>(s.get()))
            squares++;
    }
    std::cout << "shapes: total area " << total << ", squares " << squares << std::endl;

    std::map<std::string, int> counts;
    std::istringstream words("the quick brown fox jumps over the lazy dog the end");
    std::string w;
    while (words >> w)
        counts[w]++;
    for (const auto &kv : counts)
        std::cout << kv.first << '=' << kv.second << ' ';
    std::cout << std::endl;

    std::vector<std::string> names = {"delta", "alpha", "charlie", "bravo"};
    std::sort(names.begin(), names.end());
    std::ostringstream joined;
    for (const auto &n : names)
        joined << n << ',';
    std::cout << joined.str() << std::endl;
    std::cerr << "to stderr" << std::endl;
    return 0;
}
