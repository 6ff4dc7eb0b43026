#pragma once

// The strip under the top bar that says when something needs a person: the HSM is missing,
// the back-end does not take registrations, the order's quota is reached, the run could not
// start. Yellow with black text, a warning glyph and words; hidden when all is well.

#include <QFrame>
#include <QMap>

class QLabel;

namespace keyline::ui {

class AttentionBanner : public QFrame {
    Q_OBJECT
public:
    enum class Topic { Hsm, Backend, Quota, Run, Action };
    Q_ENUM(Topic)

    explicit AttentionBanner(QWidget* parent = nullptr);

    // Empty text clears the topic.
    void set(Topic topic, const QString& text);
    void clear(Topic topic) { set(topic, QString()); }
    void clearAll();
    QString text() const; // every message, one per line

private:
    void refresh();

    QMap<Topic, QString> m_messages;
    QLabel* m_icon;
    QLabel* m_text;
};

} // namespace keyline::ui
