#pragma once

#include "sim/simulator.h"

#include <chrono>
#include <thread>

namespace keyline::sim {

// Makes a session take as long as the real device would: work is charged as it happens and
// paid by one sleep before the answer goes out. The device's time starts when a request's bytes
// arrive, so the simulator's own computing (verifying a package, hashing) happens inside the
// time the real device would take instead of being added to it, and the line's figures are not
// skewed by the host running the simulation. With Timing::none() nothing is ever slept.
class Pacer {
public:
    explicit Pacer(Timing timing)
        : m_timing(timing) {}

    // Request bytes arrived: an idle device starts working now.
    void arrived(qsizetype bytes) {
        if (!m_timing.enabled)
            return;
        const auto now = std::chrono::steady_clock::now();
        if (m_due < now)
            m_due = now;
        chargeLink(bytes);
    }
    void charge(std::chrono::microseconds work) {
        if (!m_timing.enabled || work.count() <= 0)
            return;
        m_due += work;
        m_charged += work;
    }
    // Bytes crossing the USB link, in either direction.
    void chargeLink(qsizetype bytes) {
        if (m_timing.enabled && m_timing.usbBytesPerSecond > 0)
            charge(std::chrono::microseconds(
                static_cast<long long>(double(bytes) * 1e6 / m_timing.usbBytesPerSecond)));
    }
    // Everything charged so far: the time the real device would have spent.
    std::chrono::microseconds charged() const { return m_charged; }
    void settle() {
        if (m_timing.enabled && m_due > std::chrono::steady_clock::now())
            std::this_thread::sleep_until(m_due);
    }

private:
    Timing m_timing;
    std::chrono::steady_clock::time_point m_due{};
    std::chrono::microseconds m_charged{0};
};

} // namespace keyline::sim
