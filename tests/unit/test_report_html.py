import base64

from lakeguard.cli.report import entity_anomalies, write_report


def test_entity_anomalies_show_the_match_as_an_analyst_reads_it(lake):
    rows = entity_anomalies(lake, "Marseille").to_pylist()
    assert len(rows) == 1
    row = rows[0]
    assert (str(row["date"]), row["season"], row["home_away"], row["opponent"]) == (
        "1997-05-24", "1996-97", "away", "Lyon")
    assert row["result"] == "0-8" and row["net_goals"] == -8 and row["anomaly_score"] > 1


def test_report_writes_a_png_plot_and_a_standalone_html(lake, tmp_path):
    paths = write_report(lake, "Marseille", out_dir=tmp_path)
    png = paths.png.read_bytes()
    assert paths.png.name == "marseille_net_goals.png"
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    page = paths.html.read_text()
    assert "Lyon" in page and "0-8" in page
    assert base64.b64encode(png).decode() in page  # the plot is embedded, no external file
