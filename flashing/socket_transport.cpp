#include "flashing/socket_transport.h"

#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <optional>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

namespace keyline::flashing {
namespace {

const QRegularExpression& portFilePattern() {
    static const QRegularExpression re(QStringLiteral("^port-(\\d{2,3})\\.sock\\z"));
    return re;
}

QString systemError(int err) {
    return QString::fromLocal8Bit(strerror(err));
}

// The port sockets in `directory` by file name, with their inodes; nothing when the directory
// cannot be read. One pass of readdir: the watcher rescans on every socket created or removed,
// and listing through QDir and a stat per file was a visible share of a busy line's CPU.
std::optional<std::map<QString, ino_t>> portSockets(const QString& directory) {
    const QByteArray path = QFile::encodeName(directory);
    DIR* dir = ::opendir(path.constData());
    if (!dir)
        return std::nullopt;
    std::map<QString, ino_t> sockets;
    while (const dirent* entry = ::readdir(dir)) {
        const QString name = QFile::decodeName(entry->d_name);
        if (!portFilePattern().match(name).hasMatch())
            continue;
        ino_t inode = entry->d_ino;
        bool socket = entry->d_type == DT_SOCK;
        // Followed like stat(): a link to a socket is a port. Some file systems leave d_type
        // unknown.
        if (entry->d_type == DT_UNKNOWN || entry->d_type == DT_LNK) {
            struct stat st {};
            socket =
                ::stat((path + '/' + entry->d_name).constData(), &st) == 0 && S_ISSOCK(st.st_mode);
            inode = st.st_ino;
        }
        if (socket)
            sockets[name] = inode;
    }
    ::closedir(dir);
    return sockets;
}

PortInfo portForFile(const QString& directory, const QString& fileName) {
    QString name = fileName.chopped(5); // strip ".sock"
    PortInfo p;
    p.endpoint = QStringLiteral("sim:") + name;
    p.kind = QStringLiteral("sim");
    p.address = QDir(directory).filePath(fileName);
    p.description = QStringLiteral("virtual wearable at %1").arg(p.address);
    return p;
}

} // namespace

QString defaultSimSocketDir() {
    QByteArray runtime = qgetenv("XDG_RUNTIME_DIR");
    if (!runtime.isEmpty())
        return QDir(QString::fromLocal8Bit(runtime)).filePath(QStringLiteral("keyline/sim"));
    return QStringLiteral("/tmp/keyline-%1/sim").arg(getuid());
}

QString simSocketFileName(int port) {
    return QStringLiteral("port-%1.sock").arg(port, 2, 10, QLatin1Char('0'));
}

SocketTransport::SocketTransport(PortInfo port, int fd)
    : m_port(std::move(port))
    , m_fd(fd) {}

SocketTransport::~SocketTransport() {
    close();
}

Result<std::unique_ptr<SocketTransport>> SocketTransport::connect(const PortInfo& port) {
    QByteArray path = QFile::encodeName(port.address);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= qsizetype(sizeof(addr.sun_path)))
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("socket path %1 is too long for a Unix socket (max %2 bytes)")
                         .arg(port.address)
                         .arg(sizeof(addr.sun_path) - 1));
    memcpy(addr.sun_path, path.constData(), size_t(path.size()));
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return Error(ErrorCode::Io,
                     QStringLiteral("cannot create socket: %1").arg(systemError(errno)));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        int err = errno;
        ::close(fd);
        return Error(ErrorCode::Disconnected,
                     QStringLiteral("%1: no device answers at %2 (%3); is keyline-wearable-sim "
                                    "running and is a device plugged into this port?")
                         .arg(port.endpoint, port.address, systemError(err)));
    }
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int buffer = 4 * 1024 * 1024;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof(buffer));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
    return std::unique_ptr<SocketTransport>(new SocketTransport(port, fd));
}

Error SocketTransport::disconnected(const QString& what) const {
    return Error(ErrorCode::Disconnected,
                 QStringLiteral("device on %1 disconnected (%2)").arg(m_port.endpoint, what));
}

Result<void> SocketTransport::write(const char* data, qsizetype size, Deadline deadline) {
    if (m_fd < 0)
        return disconnected(QStringLiteral("link closed"));
    while (size > 0) {
        ssize_t n = ::send(m_fd, data, size_t(size), MSG_NOSIGNAL);
        if (n > 0) {
            data += n;
            size -= n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return disconnected(systemError(errno));
        pollfd p{m_fd, POLLOUT, 0};
        int r = ::poll(&p, 1, deadline.remainingMs());
        if (r == 0)
            return Error(ErrorCode::Timeout,
                         QStringLiteral("device on %1 does not accept data").arg(m_port.endpoint));
        if (r < 0 && errno != EINTR)
            return Error(ErrorCode::Io, QStringLiteral("poll: %1").arg(systemError(errno)));
        if (r > 0 && (p.revents & (POLLERR | POLLHUP)))
            return disconnected(QStringLiteral("connection reset"));
    }
    return success();
}

Result<void> SocketTransport::writePieces(std::span<const Piece> pieces, Deadline deadline) {
    if (m_fd < 0)
        return disconnected(QStringLiteral("link closed"));
    constexpr std::size_t kMaxPieces = 8;
    if (pieces.size() > kMaxPieces)
        return Transport::writePieces(pieces, deadline);
    iovec iov[kMaxPieces];
    std::size_t count = 0;
    for (const Piece& p : pieces)
        if (p.size > 0)
            iov[count++] = {const_cast<char*>(p.data), size_t(p.size)};
    std::size_t first = 0;
    while (first < count) {
        msghdr msg{};
        msg.msg_iov = iov + first;
        msg.msg_iovlen = count - first;
        ssize_t n = ::sendmsg(m_fd, &msg, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return disconnected(systemError(errno));
        if (n < 0) {
            // The socket is full: the rest goes out piece by piece, each waiting as write() does.
            for (std::size_t i = first; i < count; ++i)
                KL_TRY(write(static_cast<const char*>(iov[i].iov_base), qsizetype(iov[i].iov_len),
                             deadline));
            return success();
        }
        // Skip what was sent, possibly ending inside a piece.
        auto sent = size_t(n);
        while (first < count && sent >= iov[first].iov_len)
            sent -= iov[first++].iov_len;
        if (first < count) {
            iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + sent;
            iov[first].iov_len -= sent;
        }
    }
    return success();
}

Result<qsizetype> SocketTransport::read(char* buffer, qsizetype max, Deadline deadline) {
    if (m_fd < 0)
        return disconnected(QStringLiteral("link closed"));
    for (;;) {
        ssize_t n = ::recv(m_fd, buffer, size_t(max), 0);
        if (n > 0)
            return qsizetype(n);
        if (n == 0)
            return disconnected(QStringLiteral("connection closed by the device"));
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return disconnected(systemError(errno));
        pollfd p{m_fd, POLLIN, 0};
        int r = ::poll(&p, 1, deadline.remainingMs());
        if (r == 0)
            return Error(
                ErrorCode::Timeout,
                QStringLiteral("device on %1 did not answer in time").arg(m_port.endpoint));
        if (r < 0 && errno != EINTR)
            return Error(ErrorCode::Io, QStringLiteral("poll: %1").arg(systemError(errno)));
    }
}

void SocketTransport::close() {
    if (m_fd >= 0) {
        ::close(m_fd);
        m_fd = -1;
    }
}

SocketPortProvider::SocketPortProvider(QString directory)
    : m_directory(std::move(directory)) {}

SocketPortProvider::~SocketPortProvider() {
    stopWatching();
}

Result<QList<PortInfo>> SocketPortProvider::scan() {
    const auto sockets = portSockets(m_directory);
    if (!sockets)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("device socket directory %1 does not exist; start "
                                    "keyline-wearable-sim or set [devices] socket_dir")
                         .arg(m_directory));
    QList<PortInfo> ports;
    for (const auto& [name, inode] : *sockets) // by name, as the map is ordered
        ports.append(portForFile(m_directory, name));
    return ports;
}

Result<std::unique_ptr<Transport>> SocketPortProvider::open(const PortInfo& port) {
    KL_TRY_ASSIGN(auto transport, SocketTransport::connect(port));
    return std::unique_ptr<Transport>(std::move(transport));
}

Result<void> SocketPortProvider::watch(PortEventHandler handler) {
    if (m_watcher.joinable())
        return Error(ErrorCode::Internal, QStringLiteral("already watching %1").arg(m_directory));
    if (!QDir().mkpath(m_directory))
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("cannot create device socket directory %1").arg(m_directory));
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0)
        return Error(ErrorCode::Io, QStringLiteral("inotify: %1").arg(systemError(errno)));
    // Watch before scanning so that no socket created in between is missed.
    if (inotify_add_watch(fd, QFile::encodeName(m_directory).constData(),
                          IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM) < 0) {
        int err = errno;
        ::close(fd);
        return Error(ErrorCode::Io,
                     QStringLiteral("cannot watch %1: %2").arg(m_directory, systemError(err)));
    }
    m_wakeFd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    m_stop = false;
    m_watcher = std::thread([this, fd, handler = std::move(handler)] { watchLoop(fd, handler); });
    return success();
}

void SocketPortProvider::watchLoop(int inotifyFd, PortEventHandler handler) {
    // Each port's socket file by inode: a device swapped faster than one rescan (the old socket
    // removed and a new one bound under the same name) is a new inode, so it is still reported
    // as a removal and an arrival instead of disappearing between two identical listings.
    struct Seen {
        PortInfo port;
        ino_t inode = 0;
    };
    std::map<QString, Seen> known;
    auto rescan = [&] {
        const auto sockets = portSockets(m_directory);
        if (!sockets)
            return;
        std::map<QString, Seen> current;
        for (const auto& [name, inode] : *sockets) {
            PortInfo p = portForFile(m_directory, name);
            current[p.endpoint] = {p, inode};
        }
        for (const auto& [endpoint, seen] : known) {
            auto it = current.find(endpoint);
            if (it == current.end() || it->second.inode != seen.inode)
                handler({PortEventKind::Removed, seen.port});
        }
        for (const auto& [endpoint, seen] : current) {
            auto before = known.find(endpoint);
            if (before == known.end() || before->second.inode != seen.inode)
                handler({PortEventKind::Arrived, seen.port});
        }
        known = std::move(current);
    };
    rescan();
    alignas(inotify_event) char buffer[4096];
    while (!m_stop) {
        pollfd fds[2] = {{inotifyFd, POLLIN, 0}, {m_wakeFd, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0 && errno != EINTR)
            break;
        if (fds[1].revents)
            break;
        // Drain the events; the directory listing, not the event stream, is the truth.
        while (::read(inotifyFd, buffer, sizeof(buffer)) > 0) {
        }
        rescan();
    }
    ::close(inotifyFd);
}

void SocketPortProvider::stopWatching() {
    if (!m_watcher.joinable())
        return;
    m_stop = true;
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(m_wakeFd, &one, sizeof(one));
    m_watcher.join();
    ::close(m_wakeFd);
    m_wakeFd = -1;
}

} // namespace keyline::flashing
