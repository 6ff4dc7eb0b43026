#pragma once

// A production run: devices provisioned as they appear on the station's ports, up to N at once
// (one slot per device), until the requested count is done, the order is complete, the run is
// cancelled or no device came for the idle timeout. The CLI and the GUI drive the same class.

#include "flashing/transport.h"
#include "provisioning/device_job.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>

namespace keyline::provisioning {

struct RunOptions {
    int slots = 4;
    int count = 0;         // devices to finish (pass or fail); 0: until the order is done
    Millis idleTimeout{0}; // stop when no device is at work or waiting this long; 0: never
    flashing::DeviceTimeouts timeouts;
};

struct RunSummary {
    std::vector<DeviceResult> devices; // in the order they finished
    int passed = 0;
    int failed = 0;
    int alreadyProvisioned = 0;
    int notNeeded = 0; // devices plugged in after the order was complete, left untouched
    qint64 milliseconds = 0;
    bool cancelled = false;
    // "count reached", "order complete", "cancelled", "idle", "no ports", "station not ready"
    QString stopReason;
    // Set when the station itself failed under a device (HSM gone, database full or locked,
    // no access to the USB bus): the run stopped, since every further device would fail the
    // same way. The caller reports it as an environment error (exit 3).
    std::optional<Error> stationError;
    double unitsPerHour() const {
        return milliseconds > 0 ? passed * 3600000.0 / double(milliseconds) : 0.0;
    }
};

class ProductionRun {
public:
    ProductionRun(const OrderPlan& plan, const StationServices& services,
                  ProvisioningRecords& records, std::vector<flashing::PortProvider*> providers,
                  RunOptions options, JobEventFn events);
    ~ProductionRun();

    // Blocks until the run stops. Call once.
    Result<RunSummary> run();
    // Thread-safe; the run stops after the steps under way end.
    void cancel();

private:
    struct QueuedPort {
        flashing::PortInfo port;
        flashing::PortProvider* provider = nullptr;
    };
    void onPortEvent(flashing::PortProvider* provider, const flashing::PortEvent& event);
    void worker();
    bool shouldStopLocked() const;
    void finishJob(const QString& endpoint, DeviceResult result);

    const OrderPlan& m_plan;
    const StationServices& m_services;
    ProvisioningRecords& m_records;
    std::vector<flashing::PortProvider*> m_providers;
    RunOptions m_options;
    JobEventFn m_events;

    std::atomic<bool> m_cancel{false};
    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<QueuedPort> m_queue;
    std::set<QString> m_busy; // endpoints with a job under way
    RunSummary m_summary;
    int m_finishedNew = 0; // devices that ran (pass or fail), for --count
    bool m_orderComplete = false;
    std::optional<Error> m_stationError;
    Clock::time_point m_lastActivity;
};

} // namespace keyline::provisioning
