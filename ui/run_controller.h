#pragma once

// Owns the engine while a run is under way: builds it as `keyline run` does
// (station/run_setup.h), runs ProductionRun on its own thread, and turns every JobEvent into a
// signal on the GUI thread. The window never calls into the engine and never waits for it.
// Pause and stop both ask the run to stop taking devices (the steps under way finish); pause
// keeps the session's totals for the next start, stop ends the session.

#include "db/order_repository.h"
#include "provisioning/device_job.h"
#include "station/config.h"

#include <QElapsedTimer>
#include <QObject>
#include <atomic>
#include <mutex>
#include <thread>

namespace keyline::provisioning {
class ProductionRun;
}

namespace keyline::ui {

struct RunTotals {
    int passed = 0;
    int failed = 0;
    qint64 runningMs = 0; // time the engine was running, pauses excluded
    double unitsPerHour() const {
        return runningMs > 0 ? passed * 3600000.0 / double(runningMs) : 0.0;
    }
};

class RunController : public QObject {
    Q_OBJECT
public:
    enum class State { Idle, Starting, Running, Stopping };
    Q_ENUM(State)

    explicit RunController(station::StationConfig config, QObject* parent = nullptr);
    ~RunController() override; // asks the run to stop and waits for the steps under way

    State state() const { return m_state; }
    bool isActive() const { return m_state != State::Idle; }
    RunTotals totals() const;
    const db::Order& order() const { return m_order; }

    // A new session for `order` (totals reset) or, after pause(), the same order again.
    void start(const db::Order& order, const QString& operatorName);
    void resume();
    void pause();
    void stop();

Q_SIGNALS:
    void stateChanged(keyline::ui::RunController::State state);
    // The ports with a device when the run started: one tile each.
    void portsFound(const QStringList& endpoints);
    void jobEvent(const keyline::provisioning::JobEvent& event);
    // A device finished; `result` has what FailureAdvisor needs.
    void deviceFinished(const keyline::provisioning::DeviceResult& result);
    void totalsChanged();
    // The engine stopped: "order complete", "cancelled", ... or `error` when it could not run.
    void runEnded(const QString& stopReason, const QString& error, bool paused);

private:
    void launch();
    void engineMain(db::Order order, QString operatorName);
    // On the engine thread: the stop reason, or the error that kept the run from running.
    std::pair<QString, QString> runEngine(const db::Order& order, const QString& operatorName);
    void setState(State state);
    void onEvent(const provisioning::JobEvent& event, const provisioning::DeviceResult& result);
    void onEnded(const QString& stopReason, const QString& error);
    // Runs `f` on the GUI thread, later (from the engine's threads).
    template <typename F>
    void post(F f) {
        QMetaObject::invokeMethod(this, std::move(f), Qt::QueuedConnection);
    }

    station::StationConfig m_config;
    db::Order m_order;
    QString m_operator;
    State m_state = State::Idle;
    RunTotals m_totals;
    QElapsedTimer m_runningSince;
    bool m_pauseRequested = false;
    std::thread m_engine;
    std::mutex m_runMutex;
    provisioning::ProductionRun* m_run = nullptr; // under m_runMutex while the engine runs
    std::atomic<bool> m_cancel{false};
};

} // namespace keyline::ui
