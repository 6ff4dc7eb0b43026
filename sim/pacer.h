#pragma once

#include "sim/simulator.h"

#include <chrono>
#include <thread>

namespace keyline::sim {

// Makes a session take as long as the real device would: work is charged as it happens and
// paid by one sleep before the answer goes out. With Timing::none() nothing is ever slept.
class Pacer {
public:
    explicit Pacer(Timing timing)
        : m_timing(timing) {}

    void charge(std::chrono::microseconds work) {
        if (!m_timing.enabled || work.count() <= 0)
            return;
        const auto now = std::chrono::steady_clock::now();
        if (m_due < now)
            m_due = now;
        m_due += work;
    }
    // Bytes crossing the USB link, in either direction.
    void chargeLink(qsizetype bytes) {
        if (m_timing.enabled && m_timing.usbBytesPerSecond > 0)
            charge(std::chrono::microseconds(
                static_cast<long long>(double(bytes) * 1e6 / m_timing.usbBytesPerSecond)));
    }
    void settle() {
        if (m_timing.enabled && m_due > std::chrono::steady_clock::now())
            std::this_thread::sleep_until(m_due);
    }

private:
    Timing m_timing;
    std::chrono::steady_clock::time_point m_due{};
};

} // namespace keyline::sim
