#include "ui/slot_tile.h"

#include "ui/station_style.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QVBoxLayout>

namespace keyline::ui {

namespace {

QString stepTitle(provisioning::Step step) {
    using provisioning::Step;
    switch (step) {
    case Step::ChipCheck:
        return SlotTile::tr("Checking the chip");
    case Step::OtpKey:
        return SlotTile::tr("Burning the image key");
    case Step::Keystore:
        return SlotTile::tr("Writing the keystore");
    case Step::Certificate:
        return SlotTile::tr("Issuing the certificate");
    case Step::Flash:
        return SlotTile::tr("Flashing the firmware");
    case Step::Verify:
        return SlotTile::tr("Checking secure boot");
    case Step::Lock:
        return SlotTile::tr("Locking the device");
    }
    return {};
}

int stepNumber(provisioning::Step step) {
    return int(step) + 1;
}

QString portName(const QString& endpoint) {
    // "sim:port-03" -> "Port 03 (sim)"; "usb:1-4.2" -> "Port 1-4.2 (usb)"
    const qsizetype colon = endpoint.indexOf(QLatin1Char(':'));
    if (colon < 0)
        return endpoint;
    QString name = endpoint.mid(colon + 1);
    if (name.startsWith(QLatin1String("port-")))
        name = name.mid(5);
    return SlotTile::tr("Port %1 (%2)").arg(name, endpoint.left(colon));
}

QString minutesSeconds(qint64 ms) {
    const qint64 s = ms / 1000;
    return QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
}

// Sizes live in the tile's style sheet (a style sheet overrides fonts set in code).
QLabel* label(const QString& name, QWidget* parent) {
    auto* l = new QLabel(parent);
    l->setObjectName(name);
    l->setWordWrap(true);
    return l;
}

} // namespace

SlotTile::SlotTile(const QString& port, QWidget* parent)
    : QFrame(parent)
    , m_port(port) {
    setObjectName(QStringLiteral("slotTile"));
    setFrameShape(QFrame::NoFrame);
    setAutoFillBackground(true);
    setMinimumSize(240, 220);
    // Every tile as wide as the others, whatever its text: the grid decides, not the content.
    setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    m_portLabel = label(QStringLiteral("port"), this);
    m_portLabel->setText(portName(port));
    m_deviceLabel = label(QStringLiteral("device"), this);
    m_stepLabel = label(QStringLiteral("step"), this);
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 100);
    m_elapsedLabel = label(QStringLiteral("elapsed"), this);
    m_elapsedLabel->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    m_elapsedLabel->setWordWrap(false);
    m_icon = new QLabel(this);
    m_icon->setFixedSize(64, 64);
    m_resultLabel = label(QStringLiteral("result"), this);
    m_resultLabel->setWordWrap(false);
    m_problemLabel = label(QStringLiteral("problem"), this);
    m_todoLabel = label(QStringLiteral("todo"), this);

    auto* top = new QHBoxLayout;
    top->addWidget(m_portLabel, 1);
    top->addWidget(m_elapsedLabel);
    auto* result = new QHBoxLayout;
    result->addWidget(m_icon);
    result->addWidget(m_resultLabel, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(16, 12, 16, 12);
    layout->setSpacing(6);
    layout->addLayout(top);
    layout->addWidget(m_deviceLabel);
    layout->addLayout(result);
    layout->addWidget(m_stepLabel);
    layout->addWidget(m_progress);
    layout->addWidget(m_problemLabel);
    layout->addWidget(m_todoLabel);
    layout->addStretch(1);
    setState(State::Empty);
    tick();
}

QString SlotTile::resultText() const {
    return m_state == State::Pass || m_state == State::Fail ? m_resultLabel->text() : QString();
}

QString SlotTile::problemText() const {
    return m_problemLabel->text();
}

QString SlotTile::todoText() const {
    return m_todoLabel->text();
}

void SlotTile::setCompact(bool compact) {
    m_compact = compact;
    m_icon->setFixedSize(compact ? 48 : 72, compact ? 48 : 72);
    setState(m_state);
}

void SlotTile::setResult(Glyph glyph, const QString& word) {
    const int size = m_icon->width();
    m_icon->setPixmap(glyphIcon(glyph, size).pixmap(size, size));
    m_resultLabel->setText(word);
}

void SlotTile::setState(State state) {
    m_state = state;
    QColor background = Qt::white, text = QColor(0x11, 0x11, 0x11),
           border = QColor(0x9e, 0x9e, 0x9e);
    switch (state) {
    case State::Empty:
        border = QColor(0xbd, 0xbd, 0xbd);
        break;
    case State::Working:
        border = style::kWorking;
        break;
    case State::Pass:
        background = style::kPass;
        text = Qt::white;
        border = style::kPass;
        break;
    case State::Fail:
        background = style::kFail;
        text = Qt::white;
        border = QColor(0x11, 0x11, 0x11);
        break;
    }
    // What to do is the one thing to read on a failed tile: dark on white, boxed.
    const QString todo =
        state == State::Fail
            ? QStringLiteral("QFrame#slotTile QLabel#todo { background: white; color: #111; "
                             "padding: 8px; border-radius: 4px; }")
            : QString();
    setStyleSheet(QStringLiteral("QFrame#slotTile { background: %1; border: 4px solid %2; "
                                 "border-radius: 8px; } QFrame#slotTile QLabel { color: %3; "
                                 "background: transparent; } QLabel#port { font-size: 18px; "
                                 "font-weight: 700; } QLabel#elapsed { font-size: 22px; "
                                 "font-weight: 700; } QLabel#device { font-size: %4px; "
                                 "font-weight: 800; } QLabel#result { font-size: %5px; "
                                 "font-weight: 900; } QLabel#step { font-size: 22px; } "
                                 "QLabel#problem { font-size: 22px; font-weight: 700; } "
                                 "QLabel#todo { font-size: %6px; font-weight: 800; } ")
                      .arg(background.name(), border.name(), text.name())
                      .arg(m_compact ? 22 : 28)
                      .arg(m_compact ? 40 : 52)
                      .arg(m_compact ? 22 : 26) +
                  todo);
    m_progress->setVisible(state == State::Working);
    m_stepLabel->setVisible(state == State::Working || state == State::Empty);
    m_problemLabel->setVisible(state == State::Fail);
    m_todoLabel->setVisible(state == State::Fail || state == State::Pass);
}

void SlotTile::onEvent(const provisioning::JobEvent& e) {
    using provisioning::JobEventKind;
    switch (e.kind) {
    case JobEventKind::Started:
        m_timer.start();
        m_finalMs = -1;
        m_deviceLabel->setText(tr("New device"));
        m_stepLabel->setText(stepTitle(provisioning::Step::ChipCheck));
        m_progress->setValue(0);
        m_problemLabel->clear();
        m_todoLabel->clear();
        setResult(Glyph::Working, tr("WORKING"));
        setState(State::Working);
        break;
    case JobEventKind::Assigned:
        m_deviceLabel->setText(e.deviceId);
        break;
    case JobEventKind::StepStarted:
        if (e.step) {
            m_stepLabel->setText(
                tr("Step %1 of 7: %2").arg(stepNumber(*e.step)).arg(stepTitle(*e.step)));
            m_progress->setValue(*e.step == provisioning::Step::Flash ? 0 : m_progress->value());
            m_progress->setFormat(*e.step == provisioning::Step::Flash
                                      ? tr("Flash %p%")
                                      : tr("Step %1 of 7").arg(stepNumber(*e.step)));
            if (*e.step != provisioning::Step::Flash)
                m_progress->setValue(100 * stepNumber(*e.step) / 8);
        }
        break;
    case JobEventKind::FlashProgress:
        m_progress->setFormat(tr("Flash %p%"));
        m_progress->setValue(int(e.fraction * 100.0));
        break;
    case JobEventKind::StepDone:
    case JobEventKind::Finished: // onFinished() has the advice
        break;
    }
    tick();
}

void SlotTile::onFinished(const provisioning::DeviceResult& r) {
    m_finalMs = m_timer.isValid() ? m_timer.elapsed() : 0;
    if (!r.deviceId.isEmpty())
        m_deviceLabel->setText(r.deviceId);
    else if (m_deviceLabel->text() == tr("New device"))
        m_deviceLabel->setText(tr("No device ID"));
    if (r.pass) {
        setResult(Glyph::Pass, tr("PASS"));
        m_todoLabel->setText(r.alreadyProvisioned ? tr("Was already done. Unplug it.")
                                                  : tr("Unplug it and plug in the next."));
        setState(State::Pass);
    } else {
        const FailureAdvice advice = FailureAdvisor::adviceFor(r);
        setResult(Glyph::Fail, tr("FAIL"));
        m_problemLabel->setText(advice.problem);
        m_todoLabel->setText(QStringLiteral("\u2192 ") + advice.todo);
        // The engine's own words, for the engineer, without crowding the worker's view.
        setToolTip(r.reason);
        setState(State::Fail);
    }
    tick();
}

void SlotTile::tick() {
    if (m_state == State::Empty) {
        m_deviceLabel->setText(tr("No device"));
        m_stepLabel->setText(tr("Plug in a device"));
        m_elapsedLabel->clear();
        setResult(Glyph::Waiting, tr("READY"));
        return;
    }
    const qint64 ms = m_finalMs >= 0 ? m_finalMs : (m_timer.isValid() ? m_timer.elapsed() : 0);
    m_elapsedLabel->setText(minutesSeconds(ms));
}

} // namespace keyline::ui
