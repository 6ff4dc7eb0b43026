#pragma once

// Idle log-out: after a configurable time without a touch, a key (a scanned badge is keys) or
// a device plugged in, the station logs the operator out. Devices count as activity so a worker
// who only plugs devices during a long run is not logged out under their hands.

#include <QObject>
#include <QTimer>

namespace keyline::ui {

class IdleWatcher : public QObject {
    Q_OBJECT
public:
    explicit IdleWatcher(std::chrono::milliseconds timeout, QObject* parent = nullptr);

    void setArmed(bool armed); // only while someone is logged in
    void poke();               // activity that is not input (a device started)
    std::chrono::milliseconds timeout() const { return m_timeout; }

Q_SIGNALS:
    void idle();

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    std::chrono::milliseconds m_timeout;
    QTimer m_timer;
    bool m_armed = false;
};

} // namespace keyline::ui
