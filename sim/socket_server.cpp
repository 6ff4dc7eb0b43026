#include "sim/socket_server.h"

#include "sim/atomic_file.h"
#include "sim/simulator.h"

#include <QDir>
#include <QFile>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

namespace keyline::sim {
namespace {

constexpr qsizetype kReadBuffer = 1024 * 1024 + 64;
constexpr int kSocketBuffer = 4 * 1024 * 1024;
constexpr int kEmptyPortPollMs = 50;

Result<sockaddr_un> socketAddress(const QString& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const QByteArray encoded = QFile::encodeName(path);
    if (encoded.size() >= qsizetype(sizeof(addr.sun_path)))
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("socket path %1 is longer than the %2 bytes a Unix socket "
                                    "allows; choose a shorter --socket-dir")
                         .arg(path)
                         .arg(sizeof(addr.sun_path) - 1));
    memcpy(addr.sun_path, encoded.constData(), size_t(encoded.size()));
    return addr;
}

// True when another process accepts connections on `path` (a second simulator, say).
bool someoneListens(const QString& path) {
    auto addr = socketAddress(path);
    if (!addr)
        return false;
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool answered =
        fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&*addr), sizeof(sockaddr_un)) == 0;
    if (fd >= 0)
        ::close(fd);
    return answered;
}

} // namespace

SocketServer::SocketServer(Simulator& simulator, QString directory,
                           std::function<void(const QString&)> log)
    : m_simulator(simulator)
    , m_directory(std::move(directory))
    , m_log(std::move(log))
    , m_wakeFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

SocketServer::~SocketServer() {
    stop();
    join();
    if (m_wakeFd >= 0)
        ::close(m_wakeFd);
}

void SocketServer::log(const QString& line) const {
    if (m_log)
        m_log(line);
}

void SocketServer::stop() {
    m_stopping = true;
    // The eventfd stays readable from now on, so every poll in every thread returns.
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(m_wakeFd, &one, sizeof(one));
}

void SocketServer::join() {
    for (std::thread& t : m_threads)
        if (t.joinable())
            t.join();
}

bool SocketServer::waitForStop(int ms) {
    pollfd p{m_wakeFd, POLLIN, 0};
    ::poll(&p, 1, ms);
    return m_stopping;
}

Result<int> SocketServer::listenOn(int port) {
    const QString path = m_simulator.socketPath(port);
    const QString staging = path + QStringLiteral(".new"); // not a name the station watches
    KL_TRY_ASSIGN(sockaddr_un stagingAddr, socketAddress(staging));
    KL_TRY(socketAddress(path));
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return Error(ErrorCode::Io, QStringLiteral("socket: %1").arg(systemErrorText(errno)));
    ::unlink(stagingAddr.sun_path);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&stagingAddr), sizeof(stagingAddr)) != 0 ||
        ::listen(fd, 4) != 0 ||
        ::rename(stagingAddr.sun_path, QFile::encodeName(path).constData()) != 0) {
        int err = errno;
        ::close(fd);
        ::unlink(stagingAddr.sun_path);
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("cannot listen on %1: %2").arg(path, systemErrorText(err)));
    }
    return fd;
}

void SocketServer::closePort(int port, int& listenFd) {
    if (listenFd < 0)
        return;
    ::unlink(QFile::encodeName(m_simulator.socketPath(port)).constData());
    ::close(listenFd);
    listenFd = -1;
}

Result<void> SocketServer::start() {
    if (m_wakeFd < 0)
        return Error(ErrorCode::Io, QStringLiteral("eventfd: %1").arg(systemErrorText(errno)));
    if (!QDir().mkpath(m_directory))
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("cannot create the socket directory %1").arg(m_directory));
    const int ports = m_simulator.options().ports;
    for (int port = 1; port <= ports; ++port)
        if (someoneListens(m_simulator.socketPath(port)))
            return Error(ErrorCode::EnvironmentNotReady,
                         QStringLiteral("%1 is served by another process; is another "
                                        "keyline-wearable-sim running on %2?")
                             .arg(m_simulator.socketPath(port), m_directory));
    std::vector<int> listening(size_t(ports) + 1, -1);
    for (int port = 1; port <= ports; ++port) {
        if (!m_simulator.occupied(port))
            continue;
        auto fd = listenOn(port);
        if (!fd) {
            for (int p = 1; p < port; ++p)
                closePort(p, listening[size_t(p)]);
            return std::move(fd).error();
        }
        listening[size_t(port)] = *fd;
    }
    for (int port = 1; port <= ports; ++port)
        m_threads.emplace_back([this, port, fd = listening[size_t(port)]] { runPort(port, fd); });
    return success();
}

void SocketServer::runPort(int port, int listenFd) {
    auto summary = m_simulator.portSummary(port);
    int devicesSeen = summary ? summary->devicesSeen : 0;
    while (!m_stopping) {
        if (listenFd < 0) {
            // The port is empty (a device is being swapped): wait for the next one.
            if (!m_simulator.occupied(port)) {
                // Woken when the next device is due, not at the next coarse poll: the swap
                // takes the simulator's replug delay, and the 50 ms poll made every swap up to
                // 50 ms longer, which a line benchmark counted as the station's time.
                int waitMs = kEmptyPortPollMs;
                if (const auto due = m_simulator.nextPlugIn(port)) {
                    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
                        *due - std::chrono::steady_clock::now());
                    waitMs = int(std::clamp<qint64>(left.count(), 0, kEmptyPortPollMs));
                }
                if (waitForStop(waitMs))
                    break;
                continue;
            }
            auto fd = listenOn(port);
            if (!fd) {
                log(fd.error().toString());
                if (waitForStop(1000))
                    break;
                continue;
            }
            listenFd = *fd;
            summary = m_simulator.portSummary(port);
            devicesSeen = summary ? summary->devicesSeen : 0;
        }
        pollfd fds[2] = {{listenFd, POLLIN, 0}, {m_wakeFd, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0 && errno != EINTR)
            break;
        if (fds[1].revents || m_stopping)
            break;
        int connection = ::accept4(listenFd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (connection < 0)
            continue;
        serveConnection(port, connection);
        summary = m_simulator.portSummary(port);
        if (!summary || summary->devicesSeen != devicesSeen)
            closePort(port, listenFd); // unplugged: the file goes away until the next device
    }
    closePort(port, listenFd);
}

bool SocketServer::writeAll(int fd, const char* data, qsizetype size) {
    while (size > 0) {
        ssize_t n = ::send(fd, data, size_t(size), MSG_NOSIGNAL);
        if (n > 0) {
            data += n;
            size -= n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return false;
        pollfd fds[2] = {{fd, POLLOUT, 0}, {m_wakeFd, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0 && errno != EINTR)
            return false;
        if (fds[1].revents || (fds[0].revents & (POLLERR | POLLHUP)))
            return false;
    }
    return true;
}

void SocketServer::serveConnection(int port, int fd) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSocketBuffer, sizeof(kSocketBuffer));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSocketBuffer, sizeof(kSocketBuffer));
    std::unique_ptr<PortSession> session = m_simulator.openSession(port);
    while (session && !m_stopping) {
        pollfd fds[2] = {{fd, POLLIN, 0}, {m_wakeFd, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0 && errno != EINTR)
            break;
        if (fds[1].revents)
            break;
        // Read straight into the session's frame buffer: an image chunk is not copied on its
        // way from the socket to flash.
        qsizetype room = kReadBuffer;
        char* buffer = session->receiveBuffer(room);
        ssize_t n = ::recv(fd, buffer, size_t(room), 0);
        const int err = errno;
        PortSession::Output out = session->received(n > 0 ? qsizetype(n) : 0);
        if (n < 0 && (err == EINTR || err == EAGAIN || err == EWOULDBLOCK))
            continue;
        if (n <= 0)
            break; // the station closed the link
        if (!writeAll(fd, out.bytes.constData(), out.bytes.size()) || out.disconnect)
            break;
        if (!out.repeatForever.isEmpty()) {
            while (!m_stopping &&
                   writeAll(fd, out.repeatForever.constData(), out.repeatForever.size())) {
            }
            break;
        }
    }
    ::close(fd);
    session.reset(); // the device sees the link drop; a locked device may be swapped now
}

} // namespace keyline::sim
