#pragma once

// A port provider passed through unchanged, whose transports note the first link error of
// each port (cable pulled, device silent): the job event only carries the reason text, and the
// advice to re-plug depends on the kind of error.

#include "flashing/transport.h"
#include "ui/run_observations.h"

namespace keyline::ui {

class ObservedPortProvider final : public flashing::PortProvider {
public:
    ObservedPortProvider(flashing::PortProvider& inner, RunObservations& observations)
        : m_inner(inner)
        , m_seen(observations) {}

    QString kind() const override { return m_inner.kind(); }
    Result<QList<flashing::PortInfo>> scan() override { return m_inner.scan(); }
    Result<std::unique_ptr<flashing::Transport>> open(const flashing::PortInfo& port) override;
    Result<void> watch(flashing::PortEventHandler handler) override {
        return m_inner.watch(std::move(handler));
    }
    void stopWatching() override { m_inner.stopWatching(); }

private:
    flashing::PortProvider& m_inner;
    RunObservations& m_seen;
};

} // namespace keyline::ui
