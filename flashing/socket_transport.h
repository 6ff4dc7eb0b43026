#pragma once

#include "flashing/transport.h"

#include <QString>
#include <atomic>
#include <thread>

namespace keyline::flashing {

// The directory where the virtual wearable puts one Unix socket per occupied port:
// $XDG_RUNTIME_DIR/keyline/sim, or /tmp/keyline-<uid>/sim when XDG_RUNTIME_DIR is unset.
QString defaultSimSocketDir();

// The socket file for a port number ("port-03.sock"), and the port's endpoint ("sim:port-03").
QString simSocketFileName(int port);

// A stream connection to one virtual device over its Unix domain socket.
class SocketTransport final : public Transport {
public:
    ~SocketTransport() override;
    static Result<std::unique_ptr<SocketTransport>> connect(const PortInfo& port);

    const PortInfo& port() const override { return m_port; }
    Result<void> write(const char* data, qsizetype size, Deadline deadline) override;
    Result<void> writePieces(std::span<const Piece> pieces, Deadline deadline) override;
    Result<qsizetype> read(char* buffer, qsizetype max, Deadline deadline) override;
    void close() override;

private:
    SocketTransport(PortInfo port, int fd);
    Error disconnected(const QString& what) const;

    PortInfo m_port;
    int m_fd = -1;
};

// Ports are the "port-NN.sock" sockets in one directory: a socket appears when a device is
// plugged into that port and disappears when it is pulled. Hotplug watches the directory.
class SocketPortProvider final : public PortProvider {
public:
    explicit SocketPortProvider(QString directory);
    ~SocketPortProvider() override;

    const QString& directory() const { return m_directory; }
    QString kind() const override { return QStringLiteral("sim"); }
    Result<QList<PortInfo>> scan() override;
    Result<std::unique_ptr<Transport>> open(const PortInfo& port) override;
    Result<void> watch(PortEventHandler handler) override;
    void stopWatching() override;

private:
    void watchLoop(int inotifyFd, PortEventHandler handler);

    QString m_directory;
    std::thread m_watcher;
    std::atomic<bool> m_stop{false};
    int m_wakeFd = -1;
};

} // namespace keyline::flashing
