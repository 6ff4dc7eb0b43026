#include "ui/observed_ports.h"

namespace keyline::ui {
namespace {

class ObservedTransport final : public flashing::Transport {
public:
    ObservedTransport(std::unique_ptr<flashing::Transport> inner, RunObservations& seen)
        : m_inner(std::move(inner))
        , m_seen(seen) {}

    const flashing::PortInfo& port() const override { return m_inner->port(); }
    Result<void> write(const char* data, qsizetype size, Deadline deadline) override {
        return noted(m_inner->write(data, size, deadline));
    }
    Result<void> writePieces(std::span<const Piece> pieces, Deadline deadline) override {
        return noted(m_inner->writePieces(pieces, deadline));
    }
    Result<qsizetype> read(char* buffer, qsizetype max, Deadline deadline) override {
        return noted(m_inner->read(buffer, max, deadline));
    }
    void close() override { m_inner->close(); }

private:
    template <typename T>
    Result<T> noted(Result<T> result) {
        if (!result)
            m_seen.noteFailure(m_inner->port().endpoint, result.error());
        return result;
    }

    std::unique_ptr<flashing::Transport> m_inner;
    RunObservations& m_seen;
};

} // namespace

Result<std::unique_ptr<flashing::Transport>>
ObservedPortProvider::open(const flashing::PortInfo& port) {
    KL_TRY_ASSIGN(std::unique_ptr<flashing::Transport> inner, m_inner.open(port));
    // A new device in this port: what the last one did no longer applies.
    m_seen.reset(port.endpoint);
    return std::unique_ptr<flashing::Transport>(
        std::make_unique<ObservedTransport>(std::move(inner), m_seen));
}

} // namespace keyline::ui
