#include "ui/station_worker.h"

namespace keyline::ui {

StationWorker::StationWorker(station::StationConfig config, QObject* parent)
    : QObject(parent)
    , m_config(config)
    , m_context(std::move(config))
    , m_agent(new QObject) {
    m_thread.setObjectName(QStringLiteral("station-worker"));
    m_agent->moveToThread(&m_thread);
    m_thread.start();
}

StationWorker::~StationWorker() {
    // The connection is closed on the thread that opened it, then the thread ends.
    QMetaObject::invokeMethod(
        m_agent,
        [this] {
            m_db.reset();
            delete m_agent;
        },
        Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
}

Result<db::Database*> StationWorker::database() {
    if (!m_db) {
        KL_TRY_ASSIGN(m_db, m_context.openDatabase());
    }
    return m_db.get();
}

} // namespace keyline::ui
