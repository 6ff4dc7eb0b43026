#pragma once

// Log-in: operator ID (typed, or scanned: a barcode scanner types it and presses Enter, which
// moves on to the PIN) and PIN. The check itself runs on the worker thread.

#include <QWidget>

class QLabel;
class QLineEdit;
class QPushButton;

namespace keyline::ui {

class LoginView : public QWidget {
    Q_OBJECT
public:
    explicit LoginView(const QString& stationName, QWidget* parent = nullptr);

    void setBusy(bool busy);
    void showError(const QString& text);
    void reset(const QString& message = QString()); // empty fields, focus on the ID

Q_SIGNALS:
    void loginRequested(const QString& operatorId, const QString& pin);

private:
    void submit();

    QLineEdit* m_id;
    QLineEdit* m_pin;
    QPushButton* m_login;
    QLabel* m_message;
};

} // namespace keyline::ui
