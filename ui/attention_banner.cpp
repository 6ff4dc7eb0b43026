#include "ui/attention_banner.h"

#include "ui/station_style.h"

#include <QHBoxLayout>
#include <QLabel>

namespace keyline::ui {

AttentionBanner::AttentionBanner(QWidget* parent)
    : QFrame(parent)
    , m_icon(new QLabel(this))
    , m_text(new QLabel(this)) {
    setObjectName(QStringLiteral("attentionBanner"));
    setStyleSheet(QStringLiteral("QFrame#attentionBanner { background: #ffd600; "
                                 "border-bottom: 3px solid #111; } QFrame#attentionBanner QLabel "
                                 "{ color: #111; font-size: 22px; font-weight: 700; }"));
    m_icon->setPixmap(glyphIcon(Glyph::Attention, 44).pixmap(44, 44));
    m_text->setWordWrap(true);
    m_text->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(16, 8, 16, 8);
    layout->addWidget(m_icon, 0, Qt::AlignTop);
    layout->addWidget(m_text, 1);
    refresh();
}

void AttentionBanner::set(Topic topic, const QString& text) {
    if (text.isEmpty())
        m_messages.remove(topic);
    else
        m_messages.insert(topic, text);
    refresh();
}

void AttentionBanner::clearAll() {
    m_messages.clear();
    refresh();
}

QString AttentionBanner::text() const {
    return m_text->text();
}

void AttentionBanner::refresh() {
    m_text->setText(QStringList(m_messages.values()).join(QLatin1Char('\n')));
    setVisible(!m_messages.isEmpty());
}

} // namespace keyline::ui
