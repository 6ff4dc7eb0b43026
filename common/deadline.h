#pragma once

#include <chrono>

namespace keyline {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// A point in time by which an operation must finish; carried down the stack instead of a
// timeout so that a multi-step exchange cannot take longer than its caller allowed.
class Deadline {
public:
    explicit Deadline(Clock::time_point at)
        : m_at(at) {}
    static Deadline in(Millis timeout) { return Deadline(Clock::now() + timeout); }
    static Deadline never() { return Deadline(Clock::time_point::max()); }

    Clock::time_point at() const { return m_at; }
    bool expired() const { return Clock::now() >= m_at; }
    // Milliseconds left, clamped to [0, cap]: suits poll() and libusb timeouts.
    int remainingMs(int cap = 3600 * 1000) const {
        if (m_at == Clock::time_point::max())
            return cap;
        auto left = std::chrono::duration_cast<Millis>(m_at - Clock::now()).count();
        if (left < 0)
            return 0;
        return left > cap ? cap : static_cast<int>(left);
    }

private:
    Clock::time_point m_at;
};

} // namespace keyline
