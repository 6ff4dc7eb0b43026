#pragma once

// One slot of the station: the device in it, the step under way, the flash progress, the time
// it has taken, and at the end a big PASS or FAIL with the reason in plain words and what to
// do. Each state has its own glyph and word as well as its colour.

#include "provisioning/device_job.h"
#include "ui/failure_advice.h"
#include "ui/station_style.h"

#include <QElapsedTimer>
#include <QFrame>

class QLabel;
class QProgressBar;

namespace keyline::ui {

class SlotTile : public QFrame {
    Q_OBJECT
public:
    enum class State { Empty, Working, Pass, Fail };
    Q_ENUM(State)

    explicit SlotTile(const QString& port, QWidget* parent = nullptr);

    const QString& port() const { return m_port; }
    State state() const { return m_state; }
    QString resultText() const;  // "PASS", "FAIL" or empty, for tests and accessibility
    QString problemText() const; // the plain-words reason shown on a FAIL
    QString todoText() const;

    void onEvent(const provisioning::JobEvent& event);
    void onFinished(const provisioning::DeviceResult& result);
    void setCompact(bool compact); // many tiles on a small screen: smaller type
    void tick();                   // updates the elapsed time

private:
    void setState(State state);
    void setResult(Glyph glyph, const QString& word);

    QString m_port;
    State m_state = State::Empty;
    QElapsedTimer m_timer;
    qint64 m_finalMs = -1;
    bool m_compact = false;
    QLabel* m_portLabel;
    QLabel* m_deviceLabel;
    QLabel* m_stepLabel;
    QProgressBar* m_progress;
    QLabel* m_elapsedLabel;
    QLabel* m_icon;
    QLabel* m_resultLabel;
    QLabel* m_problemLabel;
    QLabel* m_todoLabel;
};

} // namespace keyline::ui
