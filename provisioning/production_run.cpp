#include "provisioning/production_run.h"

#include <QElapsedTimer>
#include <thread>

namespace keyline::provisioning {

ProductionRun::ProductionRun(const OrderPlan& plan, const StationServices& services,
                             ProvisioningRecords& records,
                             std::vector<flashing::PortProvider*> providers, RunOptions options,
                             JobEventFn events)
    : m_plan(plan)
    , m_services(services)
    , m_records(records)
    , m_providers(std::move(providers))
    , m_options(std::move(options))
    , m_events(std::move(events)) {
    m_options.slots = std::max(1, m_options.slots);
}

ProductionRun::~ProductionRun() {
    for (flashing::PortProvider* p : m_providers)
        p->stopWatching();
}

void ProductionRun::cancel() {
    m_cancel = true;
    std::lock_guard lock(m_mutex);
    m_wake.notify_all();
}

void ProductionRun::onPortEvent(flashing::PortProvider* provider, const flashing::PortEvent& e) {
    std::lock_guard lock(m_mutex);
    auto sameEndpoint = [&](const QueuedPort& q) {
        return q.port.endpoint == e.port.endpoint;
    };
    std::erase_if(m_queue, sameEndpoint);
    // A device that arrives is worked on once; a device that stays in its port after its job
    // (failed, or done) waits to be re-plugged, so a failing device is not retried in a loop.
    if (e.kind == flashing::PortEventKind::Arrived)
        m_queue.push_back({e.port, provider});
    m_lastActivity = Clock::now();
    m_wake.notify_all();
}

bool ProductionRun::shouldStopLocked() const {
    if (m_cancel)
        return true;
    if (m_orderComplete)
        return true;
    if (m_options.count > 0 && m_finishedNew + int(m_busy.size()) >= m_options.count)
        return m_busy.empty() || m_finishedNew >= m_options.count;
    return false;
}

void ProductionRun::finishJob(const QString& endpoint, DeviceResult result) {
    std::lock_guard lock(m_mutex);
    m_busy.erase(endpoint);
    m_lastActivity = Clock::now();
    // The order has no unit left: nothing more is provisioned in this run, and a device that
    // came too late is left untouched, not failed.
    if (!result.pass && result.errorCode == ErrorCode::Refused &&
        result.errorDetail == kOrderCompleteDetail) {
        m_orderComplete = true;
        ++m_summary.notNeeded;
        m_wake.notify_all();
        return;
    }
    // The station's own environment failed (ErrorCode::EnvironmentNotReady: HSM, database,
    // USB access), not the device: stop rather than fail every device that follows.
    if (!result.pass && result.errorCode == ErrorCode::EnvironmentNotReady && !m_stationError) {
        m_stationError = Error(ErrorCode::EnvironmentNotReady, result.reason, result.errorDetail);
        m_cancel = true;
    }
    if (result.alreadyProvisioned) {
        ++m_summary.alreadyProvisioned;
    } else {
        ++m_finishedNew;
        result.pass ? ++m_summary.passed : ++m_summary.failed;
    }
    m_summary.devices.push_back(std::move(result));
    m_wake.notify_all();
}

void ProductionRun::worker() {
    for (;;) {
        QueuedPort next;
        {
            std::unique_lock lock(m_mutex);
            for (;;) {
                if (shouldStopLocked())
                    return;
                const bool countLeft =
                    m_options.count == 0 || m_finishedNew + int(m_busy.size()) < m_options.count;
                if (countLeft && !m_queue.empty())
                    break;
                if (m_options.idleTimeout.count() > 0 && m_busy.empty() && m_queue.empty() &&
                    Clock::now() - m_lastActivity >= m_options.idleTimeout)
                    return;
                m_wake.wait_for(lock, std::chrono::milliseconds(100));
            }
            next = m_queue.front();
            m_queue.pop_front();
            m_busy.insert(next.port.endpoint);
        }
        DeviceResult result;
        auto transport = next.provider->open(next.port);
        if (!transport) {
            // Gone again before it could be opened (unplugged): not a device result.
            std::lock_guard lock(m_mutex);
            m_busy.erase(next.port.endpoint);
            m_wake.notify_all();
            continue;
        }
        flashing::DeviceClient client(std::move(*transport), m_options.timeouts);
        DeviceJob job(m_plan, m_services, m_records, m_events);
        finishJob(next.port.endpoint, job.run(client, &m_cancel));
    }
}

Result<RunSummary> ProductionRun::run() {
    QElapsedTimer timer;
    timer.start();
    m_lastActivity = Clock::now();
    if (m_providers.empty())
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("no device transport is configured: set [devices] "
                                    "transports in keyline.conf"));
    for (flashing::PortProvider* provider : m_providers)
        KL_TRY(provider->watch(
            [this, provider](const flashing::PortEvent& e) { onPortEvent(provider, e); }));
    std::vector<std::thread> slots;
    for (int i = 0; i < m_options.slots; ++i)
        slots.emplace_back([this] { worker(); });
    for (std::thread& t : slots)
        t.join();
    for (flashing::PortProvider* provider : m_providers)
        provider->stopWatching();

    std::lock_guard lock(m_mutex);
    m_summary.milliseconds = timer.elapsed();
    m_summary.cancelled = m_cancel;
    m_summary.stationError = m_stationError;
    if (m_stationError)
        m_summary.stopReason = QStringLiteral("station not ready");
    else if (m_cancel)
        m_summary.stopReason = QStringLiteral("cancelled");
    else if (m_orderComplete)
        m_summary.stopReason = QStringLiteral("order complete");
    else if (m_options.count > 0 && m_finishedNew >= m_options.count)
        m_summary.stopReason = QStringLiteral("count reached");
    else
        m_summary.stopReason = QStringLiteral("idle");
    return m_summary;
}

} // namespace keyline::provisioning
