#include "ui/run_view.h"

#include "ui/slot_tile.h"
#include "ui/station_style.h"

#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>
#include <cmath>

namespace keyline::ui {

RunView::RunView(RunController& controller, QWidget* parent)
    : QWidget(parent)
    , m_controller(controller)
    , m_orderLabel(new QLabel(this))
    , m_badge(new QLabel(this))
    , m_status(new QLabel(this))
    , m_grid(new QGridLayout)
    , m_start(new QPushButton(tr("Start"), this))
    , m_pause(new QPushButton(tr("Pause"), this))
    , m_stop(new QPushButton(tr("Stop"), this)) {
    setObjectName(QStringLiteral("runView"));
    m_orderLabel->setObjectName(QStringLiteral("runOrder"));
    setStyleRole(m_orderLabel, QStringLiteral("title"));
    m_badge->setObjectName(QStringLiteral("environmentBadge"));
    m_badge->setContentsMargins(6, 0, 6, 0);
    m_status->setObjectName(QStringLiteral("runStatus"));
    setStyleRole(m_status, QStringLiteral("subtitle"));
    m_start->setObjectName(QStringLiteral("startButton"));
    m_pause->setObjectName(QStringLiteral("pauseButton"));
    m_stop->setObjectName(QStringLiteral("stopButton"));
    setStyleRole(m_start, QStringLiteral("primary"));
    setStyleRole(m_stop, QStringLiteral("danger"));
    for (QPushButton* b : {m_start, m_pause, m_stop}) {
        b->setMinimumHeight(72);
        b->setMinimumWidth(180);
    }
    m_start->setIcon(glyphIcon(Glyph::Pass, 32));
    m_start->setIconSize(QSize(32, 32));

    auto* header = new QHBoxLayout;
    header->setSpacing(16);
    header->addWidget(m_orderLabel);
    header->addWidget(m_badge);
    header->addStretch(1);
    header->addWidget(m_status);

    auto* totals = new QHBoxLayout;
    totals->setSpacing(12);
    m_done = total(QStringLiteral("totalDone"), tr("Done"), this);
    m_failed = total(QStringLiteral("totalFailed"), tr("Failed"), this);
    m_remaining = total(QStringLiteral("totalRemaining"), tr("Remaining"), this);
    m_rate = total(QStringLiteral("totalRate"), tr("Units / hour"), this);
    for (QLabel* l : {m_done, m_failed, m_remaining, m_rate})
        totals->addWidget(l, 1);
    totals->addSpacing(24);
    totals->addWidget(m_start);
    totals->addWidget(m_pause);
    totals->addWidget(m_stop);

    m_grid->setSpacing(12);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(16, 12, 16, 12);
    layout->setSpacing(12);
    layout->addLayout(header);
    layout->addLayout(m_grid, 1);
    layout->addLayout(totals);

    connect(m_start, &QPushButton::clicked, this, &RunView::startRequested);
    connect(m_pause, &QPushButton::clicked, &m_controller, &RunController::pause);
    connect(m_stop, &QPushButton::clicked, this, &RunView::stopRequested);
    connect(&m_controller, &RunController::stateChanged, this, &RunView::updateControls);
    connect(&m_controller, &RunController::totalsChanged, this, &RunView::updateTotals);
    connect(&m_controller, &RunController::portsFound, this, [this](const QStringList& ports) {
        for (const QString& p : ports)
            ensureTile(p);
    });
    connect(&m_controller, &RunController::jobEvent, this,
            [this](const provisioning::JobEvent& e) { ensureTile(e.port)->onEvent(e); });
    connect(&m_controller, &RunController::deviceFinished, this,
            [this](const provisioning::DeviceResult& r) { ensureTile(r.port)->onFinished(r); });
    connect(&m_clock, &QTimer::timeout, this, [this] {
        for (SlotTile* t : std::as_const(m_tiles))
            t->tick();
        updateTotals();
    });
    m_clock.start(1000);
    updateControls();
    updateTotals();
}

QLabel* RunView::total(const QString& name, const QString& caption, QWidget* parent) {
    auto* l = new QLabel(parent);
    l->setObjectName(name);
    l->setProperty("caption", caption);
    l->setAlignment(Qt::AlignCenter);
    l->setTextFormat(Qt::RichText);
    l->setStyleSheet(QStringLiteral("background: white; border: 2px solid #999; "
                                    "border-radius: 6px; padding: 4px;"));
    return l;
}

void RunView::setOrder(const station::OrderSummary& s) {
    const bool production = s.order.environment == db::Environment::Production;
    m_orderLabel->setText(tr("Order %1 · %2").arg(s.order.id, s.order.customerId));
    m_badge->setText(production ? tr("PRODUCTION") : tr("development"));
    setStyleRole(m_badge, production ? QStringLiteral("badge-prod") : QStringLiteral("badge-dev"));
    setRemaining(s.counts.remaining(s.order));
    // A new order starts with empty tiles.
    if (m_controller.order().id != s.order.id) {
        for (SlotTile* t : std::as_const(m_tiles))
            delete t;
        m_tiles.clear();
    }
}

void RunView::setRemaining(int remaining) {
    m_remainingCount = remaining;
    updateTotals();
}

QList<SlotTile*> RunView::tiles() const {
    return m_tiles.values();
}

SlotTile* RunView::tile(const QString& port) const {
    return m_tiles.value(port);
}

SlotTile* RunView::ensureTile(const QString& port) {
    if (SlotTile* t = m_tiles.value(port))
        return t;
    auto* t = new SlotTile(port, this);
    m_tiles.insert(port, t);
    layoutTiles();
    return t;
}

void RunView::layoutTiles() {
    const int n = int(m_tiles.size());
    // Up to 4 across; more slots make more rows, and smaller type on many tiles.
    const int columns = n <= 4 ? std::max(1, n) : int(std::ceil(std::sqrt(double(n)) + 0.5));
    for (int c = 0; c < m_grid->columnCount(); ++c)
        m_grid->setColumnStretch(c, 0);
    for (int c = 0; c < columns; ++c)
        m_grid->setColumnStretch(c, 1);
    int i = 0;
    for (SlotTile* t : std::as_const(m_tiles)) { // QMap: sorted by port
        m_grid->removeWidget(t);
        m_grid->addWidget(t, i / columns, i % columns);
        t->setCompact(n > 6);
        ++i;
    }
}

void RunView::updateControls() {
    using State = RunController::State;
    const State s = m_controller.state();
    m_start->setEnabled(s == State::Idle);
    m_pause->setEnabled(s == State::Running || s == State::Starting);
    m_stop->setEnabled(true);
    switch (s) {
    case State::Idle:
        m_status->setText(tr("Stopped. Press Start."));
        break;
    case State::Starting:
        m_status->setText(tr("Starting…"));
        break;
    case State::Running:
        m_status->setText(tr("Running: plug in devices."));
        break;
    case State::Stopping:
        m_status->setText(tr("Finishing the devices under way…"));
        break;
    }
}

void RunView::updateTotals() {
    const RunTotals t = m_controller.totals();
    auto show = [](QLabel* l, const QString& value) {
        l->setText(QStringLiteral("<div style='font-size:16px'>%1</div>"
                                  "<div style='font-size:34px; font-weight:800'>%2</div>")
                       .arg(l->property("caption").toString().toHtmlEscaped(), value));
    };
    show(m_done, QString::number(t.passed));
    show(m_failed, QString::number(t.failed));
    show(m_remaining, QString::number(m_remainingCount));
    show(m_rate, QString::number(qRound(t.unitsPerHour())));
}

} // namespace keyline::ui
