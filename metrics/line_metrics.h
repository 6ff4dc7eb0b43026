#pragma once

// The station's line metrics (docs/operator-guide.md, "Line metrics"), fed by the engine's job
// events: units provisioned, failures by step and error kind, step durations, the outbox depth
// and the HSM latency. Labels are bounded: the station and the order (one per run) and fixed
// names of steps, error kinds and HSM operations; never a device ID, a reason text or a secret.
// The CLI and the GUI feed it the same way: pass onEvent() every JobEvent.

#include "metrics/metered_hsm.h"
#include "metrics/registry.h"
#include "provisioning/device_job.h"

#include <array>
#include <map>
#include <mutex>

namespace keyline::metrics {

class LineMetrics {
public:
    LineMetrics(Registry& registry, const QString& station, const QString& order);

    // Thread-safe: every slot thread calls it.
    void onEvent(const provisioning::JobEvent& event);
    void setOutboxPending(int pending) noexcept;
    HsmLatency& hsmLatency() { return m_hsm; }

private:
    static constexpr std::size_t kSteps = provisioning::kAllSteps.size();
    void observeStep(const QString& port, provisioning::Step step, bool ok);
    Histogram& stepDurations(provisioning::Step step, bool ok);

    Registry& m_registry;
    Labels m_run; // station, order
    Counter& m_passed;
    Counter& m_alreadyProvisioned;
    Gauge& m_outboxPending;
    HsmLatency m_hsm;
    std::array<Histogram*, kSteps> m_stepOk{};
    std::array<Histogram*, kSteps> m_stepFailed{}; // made on the first failure of the step

    struct Running {
        provisioning::Step step;
        Clock::time_point since;
    };
    std::mutex m_mutex; // guards m_running and m_stepFailed: held for a map lookup
    std::map<QString, Running> m_running; // by port
};

} // namespace keyline::metrics
