#include "station/pin_prompt.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

namespace keyline::station {

namespace {

// Restores the terminal however the read ends.
class EchoOff {
public:
    explicit EchoOff(int fd)
        : m_fd(fd) {
        m_ok = tcgetattr(fd, &m_saved) == 0;
        if (m_ok) {
            termios quiet = m_saved;
            quiet.c_lflag &= ~tcflag_t(ECHO);
            tcsetattr(fd, TCSAFLUSH, &quiet);
        }
    }
    ~EchoOff() {
        if (m_ok)
            tcsetattr(m_fd, TCSAFLUSH, &m_saved);
    }
    EchoOff(const EchoOff&) = delete;
    EchoOff& operator=(const EchoOff&) = delete;

private:
    int m_fd;
    termios m_saved{};
    bool m_ok = false;
};

} // namespace

Result<QByteArray> promptForPin(const QString& tokenLabel) {
    return promptSecret(QStringLiteral("PIN for HSM token '%1': ").arg(tokenLabel),
                        QStringLiteral("no PIN for HSM token '%1': set [hsm] pin in keyline.conf "
                                       "(mode 600) or $KEYLINE_HSM_PIN, or run on a terminal to "
                                       "be asked")
                            .arg(tokenLabel));
}

Result<QByteArray> promptSecret(const QString& question, const QString& whenNoTerminal) {
    const Error noPin(ErrorCode::EnvironmentNotReady, whenNoTerminal);
    const int fd = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return noPin;
    QByteArray pin;
    {
        EchoOff quiet(fd);
        const QByteArray ask = question.toUtf8();
        if (::write(fd, ask.constData(), std::size_t(ask.size())) < 0) {
            ::close(fd);
            return noPin;
        }
        char c = 0;
        while (pin.size() < 256 && ::read(fd, &c, 1) == 1 && c != '\n')
            pin.append(c);
        c = '\n';
        [[maybe_unused]] const ssize_t n = ::write(fd, &c, 1);
    }
    ::close(fd);
    if (pin.endsWith('\r'))
        pin.chop(1);
    if (pin.isEmpty())
        return noPin;
    return pin;
}

} // namespace keyline::station
