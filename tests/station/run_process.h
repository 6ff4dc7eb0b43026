#pragma once

// `keyline run --json` as a process a test reads event by event and can kill, and the order
// the run tests provision.

#include "line_fixture.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <csignal>
#include <functional>
#include <optional>

namespace keyline::test {

struct RunProcess {
    QProcess process;
    QList<QJsonObject> events;
    QByteArray pending;
    QByteArray stdoutBytes; // all of it, as it came

    RunProcess(const LineFixture& f, const QString& order, int slots, int idleSeconds,
               const QStringList& extraArgs = {})
        : RunProcess(f.config, order, slots, idleSeconds, extraArgs) {}

    // A station of the line with its own configuration file. `prepare` adjusts the process
    // before it starts (its environment, a child-process modifier for resource limits).
    RunProcess(const QString& config, const QString& order, int slots, int idleSeconds,
               const QStringList& extraArgs = {},
               const std::function<void(QProcess&)>& prepare = {}) {
        if (prepare)
            prepare(process);
        process.start(buildPath("station/keyline"),
                      QStringList{QStringLiteral("--config"), config, QStringLiteral("run"),
                                  QStringLiteral("--order"), order, QStringLiteral("--slots"),
                                  QString::number(slots), QStringLiteral("--json"),
                                  QStringLiteral("--idle-timeout"), QString::number(idleSeconds)} +
                          extraArgs);
        REQUIRE(process.waitForStarted(5000));
    }

    // Reads events until `stop` says so or the process ends; true if `stop` fired.
    bool readUntil(const std::function<bool(const QJsonObject&)>& stop, int timeoutMs = 60000) {
        QElapsedTimer t;
        t.start();
        while (t.elapsed() < timeoutMs) {
            const std::optional<bool> stopped = pump(100, stop);
            if (stopped)
                return *stopped;
        }
        FAIL("keyline run did not finish in time");
        return false;
    }

    // Waits up to `waitMs` for output and reads the events that arrived: true when `stop`
    // fired, false when the process has ended and all is read, nullopt while it runs on.
    std::optional<bool> pump(int waitMs, const std::function<bool(const QJsonObject&)>& stop = {}) {
        process.waitForReadyRead(waitMs);
        const QByteArray chunk = process.readAllStandardOutput();
        stdoutBytes += chunk;
        pending += chunk;
        qsizetype nl;
        while ((nl = pending.indexOf('\n')) >= 0) {
            const QJsonObject o = QJsonDocument::fromJson(pending.left(nl)).object();
            pending.remove(0, nl + 1);
            events.append(o);
            if (qEnvironmentVariableIsSet("KEYLINE_TEST_TRACE"))
                qInfo("%s", QJsonDocument(o).toJson(QJsonDocument::Compact).constData());
            if (stop && stop(o))
                return true;
        }
        if (process.state() == QProcess::NotRunning && pending.isEmpty() &&
            !process.bytesAvailable())
            return false;
        return std::nullopt;
    }

    void kill() {
        ::kill(pid_t(process.processId()), SIGKILL);
        REQUIRE(process.waitForFinished(10000));
    }

    // What the run wrote to stderr (its one-line error), once it has ended.
    QString errors() { return QString::fromUtf8(process.readAllStandardError()).trimmed(); }

    // The report's last result of each port ("sim:port-01" ...).
    QMap<QString, QJsonObject> lastByPort() const {
        QMap<QString, QJsonObject> last;
        for (const QJsonValue& v : report().value(QStringLiteral("devices")).toArray())
            last[v.toObject().value(QStringLiteral("port")).toString()] = v.toObject();
        return last;
    }

    QJsonObject report() const {
        for (auto it = events.crbegin(); it != events.crend(); ++it)
            if (it->value(QStringLiteral("event")).toString() == QStringLiteral("report"))
                return *it;
        return {};
    }
};

inline QString simPort(int port) {
    return QStringLiteral("sim:port-%1").arg(port, 2, 10, QLatin1Char('0'));
}

inline void makeOrder(const LineFixture& f, const QString& id, int quantity) {
    const QString ks = f.devKeystore(QStringLiteral("acme"));
    const QString pkg = f.devPackage(ks, QStringLiteral("acme.klpk"));
    const CliRun r =
        f.createOrder(id, QStringLiteral("acme"), QStringLiteral("dev"), quantity, pkg, ks);
    INFO(r.all().toStdString());
    REQUIRE(r.code == 0);
}

} // namespace keyline::test
