#pragma once

// The GUI's one background thread for everything outside a run: the PIN check (a slow hash on
// purpose), order queries, order creation (HSM checks), audit export. The window never waits:
// it hands over a piece of work and gets the answer later on its own thread. The worker owns
// the station context and its database connection (a Qt SQL connection belongs to the thread
// that opened it).

#include "db/database.h"
#include "station/station_context.h"

#include <QObject>
#include <QPointer>
#include <QThread>
#include <functional>

namespace keyline::ui {

class StationWorker : public QObject {
    Q_OBJECT
public:
    explicit StationWorker(station::StationConfig config, QObject* parent = nullptr);
    ~StationWorker() override;

    const station::StationConfig& config() const { return m_config; }
    // Requests handed over and not yet answered.
    int pending() const { return m_pending; }

    // Runs `work` on the worker thread, then `done` with its answer on the GUI thread, unless
    // `receiver` is gone by then.
    template <typename T>
    void request(QObject* receiver,
                 std::function<Result<T>(station::StationContext&, db::Database&)> work,
                 std::function<void(Result<T>)> done) {
        ++m_pending;
        Q_EMIT pendingChanged(m_pending);
        QPointer<QObject> guard(receiver);
        QMetaObject::invokeMethod(
            m_agent,
            [this, guard, work = std::move(work), done = std::move(done)] {
                auto connection = database();
                Result<T> answer = connection ? work(m_context, **connection)
                                              : Result<T>(Error(connection.error()));
                QMetaObject::invokeMethod(
                    this,
                    [this, guard, done, answer = std::move(answer)]() mutable {
                        --m_pending;
                        Q_EMIT pendingChanged(m_pending);
                        if (guard)
                            done(std::move(answer));
                    },
                    Qt::QueuedConnection);
            },
            Qt::QueuedConnection);
    }

Q_SIGNALS:
    void pendingChanged(int pending);

private:
    // On the worker thread: the connection, opened (and migrated) on first use.
    Result<db::Database*> database();

    station::StationConfig m_config;
    station::StationContext m_context;
    std::unique_ptr<db::Database> m_db;
    QThread m_thread;
    QObject* m_agent; // lives on m_thread: the context the work runs in
    int m_pending = 0;
};

} // namespace keyline::ui
