#include "flashing/payload.h"

namespace keyline::protocol {

PayloadWriter& PayloadWriter::u8(std::uint8_t v) {
    m_out.append(static_cast<char>(v));
    return *this;
}

PayloadWriter& PayloadWriter::u16(std::uint16_t v) {
    char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
    m_out.append(b, 2);
    return *this;
}

PayloadWriter& PayloadWriter::u32(std::uint32_t v) {
    char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                 static_cast<char>(v)};
    m_out.append(b, 4);
    return *this;
}

PayloadWriter& PayloadWriter::u64(std::uint64_t v) {
    u32(static_cast<std::uint32_t>(v >> 32));
    return u32(static_cast<std::uint32_t>(v));
}

PayloadWriter& PayloadWriter::blob(const QByteArray& bytes) {
    u32(static_cast<std::uint32_t>(bytes.size()));
    m_out.append(bytes);
    return *this;
}

PayloadWriter& PayloadWriter::str(const QString& text) {
    QByteArray utf8 = text.toUtf8();
    Q_ASSERT(utf8.size() <= 0xFFFF);
    u16(static_cast<std::uint16_t>(utf8.size()));
    m_out.append(utf8);
    return *this;
}

PayloadWriter& PayloadWriter::tail(const QByteArray& bytes) {
    m_out.append(bytes);
    return *this;
}

void PayloadReader::fail(const char* field, const QString& why) {
    if (!m_error)
        m_error = Error(ErrorCode::ProtocolViolation,
                        QStringLiteral("%1: field '%2' %3").arg(m_what, QLatin1String(field), why));
}

bool PayloadReader::need(const char* field, qsizetype bytes) {
    if (m_error)
        return false;
    if (m_in.size() - m_pos < bytes) {
        fail(field, QStringLiteral("is truncated (needs %1 bytes, %2 left)")
                        .arg(bytes)
                        .arg(m_in.size() - m_pos));
        return false;
    }
    return true;
}

std::uint8_t PayloadReader::u8(const char* field) {
    if (!need(field, 1))
        return 0;
    return static_cast<std::uint8_t>(m_in[m_pos++]);
}

std::uint16_t PayloadReader::u16(const char* field) {
    if (!need(field, 2))
        return 0;
    auto p = reinterpret_cast<const unsigned char*>(m_in.constData() + m_pos);
    m_pos += 2;
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

std::uint32_t PayloadReader::u32(const char* field) {
    if (!need(field, 4))
        return 0;
    auto p = reinterpret_cast<const unsigned char*>(m_in.constData() + m_pos);
    m_pos += 4;
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
           std::uint32_t(p[3]);
}

std::uint64_t PayloadReader::u64(const char* field) {
    std::uint64_t hi = u32(field);
    std::uint64_t lo = u32(field);
    return (hi << 32) | lo;
}

QByteArray PayloadReader::blob(const char* field, int maxSize) {
    const QByteArray view = blobView(field, maxSize);
    return QByteArray(view.constData(), view.size());
}

QByteArray PayloadReader::blobView(const char* field, int maxSize) {
    std::uint32_t size = u32(field);
    if (m_error)
        return {};
    if (size > std::uint32_t(maxSize)) {
        fail(field, QStringLiteral("announces %1 bytes, limit is %2").arg(size).arg(maxSize));
        return {};
    }
    if (!need(field, qsizetype(size)))
        return {};
    QByteArray out = QByteArray::fromRawData(m_in.constData() + m_pos, qsizetype(size));
    m_pos += qsizetype(size);
    return out;
}

QString PayloadReader::str(const char* field, int maxBytes) {
    std::uint16_t size = u16(field);
    if (m_error)
        return {};
    if (size > maxBytes) {
        fail(field, QStringLiteral("is %1 bytes long, limit is %2").arg(size).arg(maxBytes));
        return {};
    }
    if (!need(field, size))
        return {};
    QByteArray raw = m_in.mid(m_pos, size);
    m_pos += size;
    QString text = QString::fromUtf8(raw);
    if (text.toUtf8() != raw) {
        fail(field, QStringLiteral("is not valid UTF-8"));
        return {};
    }
    for (QChar c : text) {
        if (c.category() == QChar::Other_Control) {
            fail(field, QStringLiteral("contains a control character"));
            return {};
        }
    }
    return text;
}

QByteArray PayloadReader::tail(const char* field, int maxSize) {
    if (m_error)
        return {};
    qsizetype size = m_in.size() - m_pos;
    if (size > maxSize) {
        fail(field, QStringLiteral("is %1 bytes long, limit is %2").arg(size).arg(maxSize));
        return {};
    }
    QByteArray out = m_in.mid(m_pos);
    m_pos = m_in.size();
    return out;
}

Result<void> PayloadReader::finish() {
    if (m_error)
        return *m_error;
    if (m_pos != m_in.size())
        return Error(ErrorCode::ProtocolViolation,
                     QStringLiteral("%1: %2 unexpected bytes after the last field")
                         .arg(m_what)
                         .arg(m_in.size() - m_pos));
    return success();
}

} // namespace keyline::protocol
