#include "ui/run_controller.h"

#include "metrics/run_metrics.h"
#include "provisioning/production_run.h"
#include "station/run_setup.h"
#include "ui/observed_ports.h"
#include "ui/observed_records.h"

#include <QJsonObject>
#include <map>

namespace keyline::ui {

namespace {

// Flash progress arrives per chunk from every slot; the window needs a whole percent at most.
class ProgressThrottle {
public:
    bool worthShowing(const QString& port, double fraction) {
        std::lock_guard lock(m_mutex);
        double& last = m_last[port];
        if (fraction < last || fraction - last >= 0.01 || fraction >= 1.0) {
            last = fraction;
            return true;
        }
        return false;
    }

private:
    std::mutex m_mutex;
    std::map<QString, double> m_last;
};

provisioning::DeviceResult resultOf(const provisioning::JobEvent& e, const PortObservation& o) {
    provisioning::DeviceResult r;
    r.port = e.port;
    r.deviceId = e.deviceId;
    r.chipUid = e.chipUid;
    r.pass = e.ok;
    r.alreadyProvisioned = e.ok && e.detail == QLatin1String("already provisioned");
    r.failedStep = e.ok ? std::nullopt : e.step;
    r.reason = e.ok ? QString() : e.detail;
    r.errorCode = o.code;
    r.errorDetail = o.detail;
    r.scrapped = o.scrapped;
    if (o.rejectedChip) {
        r.errorCode = ErrorCode::VerificationFailed;
        r.failedStep = provisioning::Step::ChipCheck;
    }
    return r;
}

bool orderComplete(const provisioning::DeviceResult& r) {
    return !r.pass && r.errorCode == ErrorCode::Refused &&
           r.errorDetail == provisioning::kOrderCompleteDetail;
}

} // namespace

RunController::RunController(station::StationConfig config, QObject* parent)
    : QObject(parent)
    , m_config(std::move(config)) {}

RunController::~RunController() {
    m_cancel = true;
    {
        std::lock_guard lock(m_runMutex);
        if (m_run)
            m_run->cancel();
    }
    if (m_engine.joinable())
        m_engine.join();
}

RunTotals RunController::totals() const {
    RunTotals t = m_totals;
    if (m_state == State::Running)
        t.runningMs += m_runningSince.elapsed();
    return t;
}

void RunController::setState(State state) {
    if (m_state == state)
        return;
    m_state = state;
    Q_EMIT stateChanged(state);
}

void RunController::start(const db::Order& order, const QString& operatorName) {
    if (isActive())
        return;
    m_order = order;
    m_operator = operatorName;
    m_totals = {};
    Q_EMIT totalsChanged();
    launch();
}

void RunController::resume() {
    if (!isActive() && !m_order.id.isEmpty())
        launch();
}

void RunController::launch() {
    if (m_engine.joinable())
        m_engine.join();
    m_cancel = false;
    m_pauseRequested = false;
    setState(State::Starting);
    m_engine = std::thread([this, order = m_order, who = m_operator] { engineMain(order, who); });
}

void RunController::pause() {
    if (!isActive())
        return;
    m_pauseRequested = true;
    m_cancel = true;
    std::lock_guard lock(m_runMutex);
    if (m_run)
        m_run->cancel();
    setState(State::Stopping);
}

void RunController::stop() {
    pause();
    m_pauseRequested = false;
}

void RunController::engineMain(db::Order order, QString operatorName) {
    // Posted only when every part of the engine is gone: the HSM is closed (one per process)
    // before the window may open it again for an order or an export.
    const std::pair<QString, QString> ended = runEngine(order, operatorName);
    post([this, ended] { onEnded(ended.first, ended.second); });
}

std::pair<QString, QString> RunController::runEngine(const db::Order& order,
                                                     const QString& operatorName) {
    station::StationContext context(m_config);
    metrics::RunMetrics lineMetrics(m_config.metrics, m_config.stationName, order.id);
    auto setup = station::prepareRun(context, order, operatorName, lineMetrics.line());
    if (!setup)
        return {QString(), setup.error().toString()};
    station::RunSetup& s = **setup;
    // Destroyed before the records it reads the outbox through; its last write ends the run.
    auto metricsExport = lineMetrics.startExport(*s.records);
    if (!metricsExport)
        return {QString(), metricsExport.error().toString()};
    RunObservations seen;
    ObservedRecords records(*s.records, seen);
    std::vector<std::unique_ptr<ObservedPortProvider>> observed;
    std::vector<flashing::PortProvider*> providers;
    QStringList endpoints;
    for (const auto& p : context.portProviders()) {
        observed.push_back(std::make_unique<ObservedPortProvider>(*p, seen));
        providers.push_back(observed.back().get());
        if (auto ports = p->scan())
            for (const flashing::PortInfo& port : *ports)
                endpoints << port.endpoint;
    }
    endpoints.sort();
    post([this, endpoints] { Q_EMIT portsFound(endpoints); });

    provisioning::RunOptions options;
    options.slots = endpoints.isEmpty() ? 4 : int(std::min<qsizetype>(endpoints.size(), 64));
    options.timeouts = context.deviceTimeouts();
    if (auto audited = s.records->audit(
            QStringLiteral("run.started"),
            QJsonObject{{QStringLiteral("slots"), options.slots},
                        {QStringLiteral("count"), 0},
                        {QStringLiteral("via"), QStringLiteral("keyline-station")}});
        !audited)
        return {QString(), audited.error().toString()};
    ProgressThrottle throttle;
    provisioning::ProductionRun run(
        s.plan, *s.services, records, providers, options,
        [this, &seen, &throttle, &lineMetrics](const provisioning::JobEvent& e) {
            lineMetrics.onEvent(e);
            if (e.kind == provisioning::JobEventKind::FlashProgress &&
                !throttle.worthShowing(e.port, e.fraction))
                return;
            provisioning::DeviceResult r;
            if (e.kind == provisioning::JobEventKind::Finished)
                r = resultOf(e, seen.take(e.port));
            post([this, e, r] { onEvent(e, r); });
        });
    {
        std::lock_guard lock(m_runMutex);
        m_run = &run;
        if (m_cancel)
            run.cancel();
    }
    post([this] {
        if (m_state == State::Starting) {
            m_runningSince.start();
            setState(State::Running);
        }
    });
    auto summary = run.run();
    {
        std::lock_guard lock(m_runMutex);
        m_run = nullptr;
    }
    if (!summary)
        return {QString(), summary.error().toString()};
    // As `keyline run` does; a failure to record the end is shown, the run is over anyway.
    QString error;
    if (auto audited = station::recordRunFinished(*s.records, *summary); !audited)
        error = audited.error().toString();
    if (summary->stationError)
        error = summary->stationError->toString();
    return {summary->stopReason, error};
}

void RunController::onEvent(const provisioning::JobEvent& e, const provisioning::DeviceResult& r) {
    Q_EMIT jobEvent(e);
    if (e.kind != provisioning::JobEventKind::Finished)
        return;
    if (!r.alreadyProvisioned && !orderComplete(r)) {
        r.pass ? ++m_totals.passed : ++m_totals.failed;
        Q_EMIT totalsChanged();
    }
    Q_EMIT deviceFinished(r);
}

void RunController::onEnded(const QString& stopReason, const QString& error) {
    if (m_engine.joinable())
        m_engine.join();
    if (m_state == State::Running || m_state == State::Stopping)
        if (m_runningSince.isValid())
            m_totals.runningMs += m_runningSince.elapsed();
    m_runningSince.invalidate();
    const bool paused = m_pauseRequested && error.isEmpty();
    setState(State::Idle);
    Q_EMIT totalsChanged();
    Q_EMIT runEnded(stopReason, error, paused);
}

} // namespace keyline::ui
