#include "ui/station_style.h"

#include <QApplication>
#include <QPainter>
#include <QPainterPath>
#include <QStyle>
#include <QStyleFactory>
#include <QWidget>

namespace keyline::ui {

namespace {

const char* kStyleSheet = R"(
QWidget { font-size: 20px; color: #111; }
QMainWindow, QStackedWidget > QWidget { background: #f4f4f4; }
QPushButton {
  min-height: 56px; padding: 4px 24px; border-radius: 6px;
  border: 2px solid #333; background: #ffffff; font-size: 22px; font-weight: 600;
}
QPushButton:pressed { background: #d0d0d0; }
QPushButton:disabled { color: #888; border-color: #aaa; background: #e6e6e6; }
QPushButton:focus { border: 3px solid #0d47a1; }
QPushButton[role="primary"] { background: #0d47a1; color: white; border-color: #0d47a1; }
QPushButton[role="primary"]:disabled { background: #9fb3d1; color: #eee; border-color: #9fb3d1; }
QPushButton[role="danger"] { background: #ffffff; color: #b00020; border-color: #b00020; }
QPushButton[role="nav"] { min-width: 140px; }
QPushButton[role="nav"]:checked { background: #222; color: white; }
QLineEdit, QSpinBox, QComboBox {
  min-height: 56px; font-size: 26px; padding: 0 12px;
  border: 2px solid #555; border-radius: 6px; background: white;
}
QLineEdit:focus, QSpinBox:focus, QComboBox:focus { border: 3px solid #0d47a1; }
QRadioButton { font-size: 22px; min-height: 48px; }
QRadioButton::indicator { width: 32px; height: 32px; }
QLabel[role="title"] { font-size: 34px; font-weight: 700; }
QLabel[role="subtitle"] { font-size: 22px; color: #333; }
QLabel[role="error"] { font-size: 22px; color: #b00020; font-weight: 600; }
QLabel[role="badge-prod"] {
  background: #d84315; color: white; font-weight: 800; padding: 4px 14px; border-radius: 4px;
}
QLabel[role="badge-dev"] {
  background: #ffffff; color: #455a64; border: 2px solid #455a64; font-weight: 700;
  padding: 2px 12px; border-radius: 4px;
}
QFrame#topBar { background: #222; }
QFrame#topBar QLabel { color: white; }
QFrame#topBar QPushButton { background: #222; color: white; border-color: #888; }
QFrame#topBar QPushButton:checked { background: white; color: #111; }
QTableView::item { padding: 0 18px; }
QSpinBox { padding-right: 12px; }
QTableView { font-size: 22px; background: white; gridline-color: #ccc;
  selection-background-color: #0d47a1; selection-color: white; }
QHeaderView::section { font-size: 18px; font-weight: 700; padding: 8px; background: #e0e0e0;
  border: 0; border-bottom: 2px solid #999; }
QProgressBar { min-height: 28px; border: 2px solid #555; border-radius: 4px; background: white;
  text-align: center; font-size: 18px; font-weight: 700; }
QProgressBar::chunk { background: #0d47a1; }
)";

void drawMark(QPainter& p, Glyph glyph, qreal s) {
    QPen pen(Qt::white, s * 0.11, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin);
    p.setPen(pen);
    p.setBrush(Qt::NoBrush);
    switch (glyph) {
    case Glyph::Pass: {
        QPainterPath check;
        check.moveTo(s * 0.27, s * 0.52);
        check.lineTo(s * 0.44, s * 0.69);
        check.lineTo(s * 0.74, s * 0.34);
        p.drawPath(check);
        break;
    }
    case Glyph::Fail:
        p.drawLine(QPointF(s * 0.32, s * 0.32), QPointF(s * 0.68, s * 0.68));
        p.drawLine(QPointF(s * 0.68, s * 0.32), QPointF(s * 0.32, s * 0.68));
        break;
    case Glyph::Working:
        p.drawLine(QPointF(s * 0.5, s * 0.5), QPointF(s * 0.5, s * 0.26));
        p.drawLine(QPointF(s * 0.5, s * 0.5), QPointF(s * 0.68, s * 0.6));
        break;
    case Glyph::Waiting:
        p.setBrush(Qt::white);
        for (qreal x : {0.3, 0.5, 0.7})
            p.drawEllipse(QPointF(s * x, s * 0.5), s * 0.02, s * 0.02);
        break;
    case Glyph::Attention:
    case Glyph::Production: {
        p.setPen(QPen(glyph == Glyph::Attention ? Qt::black : Qt::white, s * 0.12, Qt::SolidLine,
                      Qt::RoundCap));
        p.drawLine(QPointF(s * 0.5, s * 0.24), QPointF(s * 0.5, s * 0.58));
        p.drawPoint(QPointF(s * 0.5, s * 0.76));
        break;
    }
    case Glyph::Development:
        p.drawLine(QPointF(s * 0.3, s * 0.5), QPointF(s * 0.7, s * 0.5));
        break;
    }
}

QColor fillOf(Glyph glyph) {
    switch (glyph) {
    case Glyph::Pass:
        return style::kPass;
    case Glyph::Fail:
        return style::kFail;
    case Glyph::Working:
        return style::kWorking;
    case Glyph::Waiting:
        return QColor(0x75, 0x75, 0x75);
    case Glyph::Attention:
        return style::kAttention;
    case Glyph::Production:
        return style::kProduction;
    case Glyph::Development:
        return style::kDevelopment;
    }
    return Qt::gray;
}

} // namespace

void applyStationStyle(QApplication& app) {
    app.setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    QFont font(QStringLiteral("DejaVu Sans"));
    font.setPixelSize(20);
    app.setFont(font);
    app.setStyleSheet(QLatin1String(kStyleSheet));
}

QIcon glyphIcon(Glyph glyph, int size) {
    QPixmap pixmap(size, size);
    pixmap.fill(Qt::transparent);
    QPainter p(&pixmap);
    p.setRenderHint(QPainter::Antialiasing);
    p.setPen(glyph == Glyph::Attention ? QPen(Qt::black, size * 0.05) : Qt::NoPen);
    p.setBrush(fillOf(glyph));
    // Different outlines too: a square for production, a circle for the rest.
    if (glyph == Glyph::Production)
        p.drawRoundedRect(QRectF(1, 1, size - 2, size - 2), size * 0.12, size * 0.12);
    else if (glyph == Glyph::Attention) {
        QPolygonF triangle{
            {size * 0.5, size * 0.04}, {size * 0.97, size * 0.92}, {size * 0.03, size * 0.92}};
        p.drawPolygon(triangle);
    } else
        p.drawEllipse(QRectF(1, 1, size - 2, size - 2));
    drawMark(p, glyph, size);
    return QIcon(pixmap);
}

void setStyleRole(QWidget* widget, const QString& role) {
    widget->setProperty("role", role);
    widget->style()->unpolish(widget);
    widget->style()->polish(widget);
}

} // namespace keyline::ui
