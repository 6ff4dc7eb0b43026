#pragma once

#include <QString>
#include <QStringList>

namespace keyline {

// What kind of failure this is. The kind decides the command line's exit code and tells the
// engine whether to retry, fail the device or stop the run.
enum class ErrorCode {
    InvalidArgument,     // the caller asked for something malformed: bad usage
    BadInput,            // a file or message from outside does not parse or verify
    NotFound,            // a named thing (order, device, key, port) does not exist
    EnvironmentNotReady, // HSM, database, back-end or device directory not usable
    Io,                  // reading or writing local storage failed
    Timeout,             // the peer did not answer in time
    Disconnected,        // the link went away (cable pulled, device reset)
    ProtocolViolation,   // the peer sent bytes that break the protocol
    DeviceRefused,       // the device answered with an error response
    Refused,             // a policy refused the action (quota, environment mix, lock)
    VerificationFailed,  // a signature, hash or chain did not verify
    Internal,            // a bug: an invariant did not hold
};

QString errorCodeName(ErrorCode code);

// Text from outside (a back-end's message, a field of a file) quoted in an error message: at
// most `maxLength` characters, control and line-separator characters as '?', so that it can
// never break the one-line rule of messages or forge a log line.
QString printableText(const QString& text, int maxLength);

// Process exit code for an error, per DESIGN.md: 1 job failed, 2 bad usage/input, 3 environment.
int exitCodeFor(ErrorCode code);

class Error {
public:
    Error(ErrorCode code, QString message, int detail = 0)
        : m_code(code)
        , m_message(std::move(message))
        , m_detail(detail) {}

    ErrorCode code() const { return m_code; }
    // The innermost description, without context.
    const QString& message() const { return m_message; }
    // A code from the layer that raised the error (e.g. the device's error code), 0 if none.
    int detail() const { return m_detail; }

    // Adds what the caller was doing, outermost first when printed: "identify port-01: timeout".
    Error& context(const QString& what) {
        m_context.prepend(what);
        return *this;
    }
    Error withContext(const QString& what) const& {
        Error e = *this;
        e.context(what);
        return e;
    }

    QString toString() const;

private:
    ErrorCode m_code;
    QString m_message;
    int m_detail;
    QStringList m_context;
};

} // namespace keyline
