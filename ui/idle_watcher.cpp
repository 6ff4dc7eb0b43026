#include "ui/idle_watcher.h"

#include <QCoreApplication>
#include <QEvent>

namespace keyline::ui {

IdleWatcher::IdleWatcher(std::chrono::milliseconds timeout, QObject* parent)
    : QObject(parent)
    , m_timeout(timeout) {
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, [this] {
        if (m_armed)
            Q_EMIT idle();
    });
    QCoreApplication::instance()->installEventFilter(this);
}

void IdleWatcher::setArmed(bool armed) {
    m_armed = armed;
    if (armed && m_timeout.count() > 0)
        m_timer.start(m_timeout);
    else
        m_timer.stop();
}

void IdleWatcher::poke() {
    if (m_armed && m_timeout.count() > 0)
        m_timer.start(m_timeout);
}

bool IdleWatcher::eventFilter(QObject* watched, QEvent* event) {
    switch (event->type()) {
    case QEvent::KeyPress:
    case QEvent::MouseButtonPress:
    case QEvent::MouseMove:
    case QEvent::TouchBegin:
    case QEvent::TouchUpdate:
    case QEvent::Wheel:
        poke();
        break;
    default:
        break;
    }
    return QObject::eventFilter(watched, event);
}

} // namespace keyline::ui
