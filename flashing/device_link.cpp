#include "flashing/device_link.h"

namespace keyline::flashing {

using protocol::Command;

DeviceLink::DeviceLink(std::unique_ptr<Transport> transport)
    : m_transport(std::move(transport)) {
    m_readBuffer.resize(256 * 1024);
}

Error DeviceLink::breakWith(Error error) {
    if (!m_broken)
        m_broken = error;
    return error;
}

void DeviceLink::close() {
    m_transport->close();
    breakWith(Error(ErrorCode::Disconnected, QStringLiteral("link closed")));
}

Result<std::uint32_t> DeviceLink::send(Command command, const QByteArray& payload,
                                       Deadline deadline) {
    if (m_broken)
        return *m_broken;
    if (payload.size() > protocol::kMaxPayload)
        return Error(ErrorCode::Internal,
                     QStringLiteral("%1 request of %2 bytes exceeds the frame limit")
                         .arg(protocol::commandName(command))
                         .arg(payload.size()));
    std::uint32_t sequence = m_nextSequence++;
    m_sendBuffer.clear();
    protocol::appendFrame(m_sendBuffer, 0, static_cast<std::uint16_t>(command), sequence,
                          payload.constData(), static_cast<int>(payload.size()));
    auto written = m_transport->write(m_sendBuffer.constData(), m_sendBuffer.size(), deadline);
    if (!written)
        return breakWith(std::move(written).error());
    return sequence;
}

Result<std::uint32_t> DeviceLink::sendWithData(Command command, const QByteArray& prefix,
                                               const char* data, qsizetype size,
                                               Deadline deadline) {
    if (m_broken)
        return *m_broken;
    qsizetype payloadSize = prefix.size() + size;
    if (payloadSize > protocol::kMaxPayload)
        return Error(ErrorCode::Internal,
                     QStringLiteral("%1 request of %2 bytes exceeds the frame limit")
                         .arg(protocol::commandName(command))
                         .arg(payloadSize));
    std::uint32_t sequence = m_nextSequence++;
    m_sendBuffer.resize(protocol::kHeaderSize + prefix.size());
    protocol::writeFrameHeader(m_sendBuffer.data(), 0, static_cast<std::uint16_t>(command),
                               sequence, static_cast<std::uint32_t>(payloadSize));
    memcpy(m_sendBuffer.data() + protocol::kHeaderSize, prefix.constData(), size_t(prefix.size()));
    std::uint32_t check = protocol::frameCheck(0, m_sendBuffer.constData(), m_sendBuffer.size());
    check = protocol::frameCheck(check, data, size);
    const char trailer[4] = {char(check >> 24), char(check >> 16), char(check >> 8), char(check)};
    const Transport::Piece pieces[] = {
        {m_sendBuffer.constData(), m_sendBuffer.size()}, {data, size}, {trailer, 4}};
    auto written = m_transport->writePieces(pieces, deadline);
    if (!written)
        return breakWith(std::move(written).error());
    return sequence;
}

Result<protocol::Frame> DeviceLink::readFrame(Deadline deadline) {
    for (;;) {
        if (auto frame = m_decoder.next())
            return std::move(*frame);
        qsizetype want = std::min<qsizetype>(m_readBuffer.size(),
                                             std::max<qsizetype>(m_decoder.missing(), 4096));
        KL_TRY_ASSIGN(qsizetype got, m_transport->read(m_readBuffer.data(), want, deadline));
        m_decoder.feed(m_readBuffer.constData(), static_cast<int>(got));
        m_peakBuffered = std::max(m_peakBuffered, m_decoder.pending());
    }
}

Result<QByteArray> DeviceLink::receive(Command command, std::uint32_t sequence, Deadline deadline) {
    if (m_broken)
        return *m_broken;
    auto frame = readFrame(deadline);
    if (!frame) {
        Error e = std::move(frame).error();
        if (e.code() == ErrorCode::Timeout)
            e = Error(
                ErrorCode::Timeout,
                QStringLiteral("no answer to %1 in time").arg(protocol::commandName(command)));
        return breakWith(e);
    }
    const protocol::Frame& f = *frame;
    if (!f.isResponse() || f.sequence != sequence ||
        f.command != static_cast<std::uint16_t>(command))
        return breakWith(
            Error(ErrorCode::ProtocolViolation,
                  QStringLiteral("expected the answer to %1 #%2, got %3 %4 #%5")
                      .arg(protocol::commandName(command))
                      .arg(sequence)
                      .arg(f.isResponse() ? QStringLiteral("answer to") : QStringLiteral("request"))
                      .arg(protocol::commandName(f.command))
                      .arg(f.sequence)));
    if (f.isError()) {
        auto err = protocol::ErrorResponse::decode(f.payload);
        if (!err)
            return breakWith(err.error());
        return Error(ErrorCode::DeviceRefused,
                     QStringLiteral("device refused %1: %2%3")
                         .arg(protocol::commandName(command), protocol::deviceErrorName(err->code),
                              err->message.isEmpty() ? QString()
                                                     : QStringLiteral(" (%1)").arg(err->message)),
                     err->code);
    }
    return f.payload;
}

Result<QByteArray> DeviceLink::exchange(Command command, const QByteArray& payload,
                                        Deadline deadline) {
    KL_TRY_ASSIGN(std::uint32_t sequence, send(command, payload, deadline));
    return receive(command, sequence, deadline);
}

} // namespace keyline::flashing
