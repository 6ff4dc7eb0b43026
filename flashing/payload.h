#pragma once

#include "common/result.h"

#include <QByteArray>
#include <QString>
#include <cstdint>

// Big-endian field encoding for command payloads (docs/device-protocol.md, "Payload fields").
namespace keyline::protocol {

class PayloadWriter {
public:
    PayloadWriter& u8(std::uint8_t v);
    PayloadWriter& u16(std::uint16_t v);
    PayloadWriter& u32(std::uint32_t v);
    PayloadWriter& u64(std::uint64_t v);
    // u32 length, then the bytes.
    PayloadWriter& blob(const QByteArray& bytes);
    // u16 length, then UTF-8.
    PayloadWriter& str(const QString& text);
    // The remaining bytes of the payload, no length: only as the last field.
    PayloadWriter& tail(const QByteArray& bytes);

    const QByteArray& bytes() const& { return m_out; }
    QByteArray bytes() && { return std::move(m_out); }

private:
    QByteArray m_out;
};

// Reads fields in order. The first failure is remembered with the field's name, later reads
// return zero values, and finish() reports it, so a decoder reads like the spec and checks once.
class PayloadReader {
public:
    explicit PayloadReader(const QByteArray& payload, QString what)
        : m_in(payload)
        , m_what(std::move(what)) {}

    std::uint8_t u8(const char* field);
    std::uint16_t u16(const char* field);
    std::uint32_t u32(const char* field);
    std::uint64_t u64(const char* field);
    // A blob of at most maxSize bytes.
    QByteArray blob(const char* field, int maxSize);
    // The same without copying: the result refers into the payload being read.
    QByteArray blobView(const char* field, int maxSize);
    // A UTF-8 string of at most maxBytes bytes; invalid UTF-8 or control characters fail.
    QString str(const char* field, int maxBytes);
    QByteArray tail(const char* field, int maxSize);

    // Records a semantic failure (a value out of range) against a field.
    void fail(const char* field, const QString& why);
    bool failed() const { return m_error.has_value(); }

    // Ok when every read succeeded and every byte was consumed.
    Result<void> finish();

private:
    bool need(const char* field, qsizetype bytes);

    const QByteArray& m_in;
    QString m_what;
    qsizetype m_pos = 0;
    std::optional<Error> m_error;
};

} // namespace keyline::protocol
