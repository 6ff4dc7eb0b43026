#pragma once

// What the GUI learns about each port's current device beyond the job events: whether it was
// scrapped or rejected as not genuine, and the error code of the failure (a job event carries
// only the reason text). Filled from the slots' threads by ObservedRecords and
// ObservedPortProvider, read by the controller when a device finishes.

#include "common/error.h"

#include <QHash>
#include <QString>
#include <mutex>
#include <optional>

namespace keyline::ui {

struct PortObservation {
    std::optional<ErrorCode> code; // the last failure seen for this device
    int detail = 0;
    bool scrapped = false;
    bool rejectedChip = false;
};

class RunObservations {
public:
    // A new device on `port`: forget what the last one did.
    void reset(const QString& port) {
        std::lock_guard lock(m_mutex);
        m_ports.remove(port);
    }
    void noteFailure(const QString& port, const Error& error) {
        std::lock_guard lock(m_mutex);
        // The last one wins: a link that timed out while polling and then dropped was
        // dropped, and a failed record after a link error is the station's problem.
        PortObservation& o = m_ports[port];
        o.code = error.code();
        o.detail = error.detail();
    }
    void noteScrapped(const QString& port) {
        std::lock_guard lock(m_mutex);
        m_ports[port].scrapped = true;
    }
    void noteRejectedChip(const QString& port) {
        std::lock_guard lock(m_mutex);
        m_ports[port].rejectedChip = true;
    }
    void noteDevice(const QString& deviceId, const QString& port) {
        std::lock_guard lock(m_mutex);
        m_deviceToPort.insert(deviceId, port);
    }
    QString portOf(const QString& deviceId) const {
        std::lock_guard lock(m_mutex);
        return m_deviceToPort.value(deviceId);
    }
    PortObservation take(const QString& port) {
        std::lock_guard lock(m_mutex);
        return m_ports.take(port);
    }

private:
    mutable std::mutex m_mutex;
    QHash<QString, PortObservation> m_ports;
    QHash<QString, QString> m_deviceToPort;
};

} // namespace keyline::ui
