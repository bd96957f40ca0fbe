import numpy as np
import pandas as pd

from radiolib.cli import main


def test_anomaly_rank_and_review_round_trip(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (300, 6))
    x[:5] += 8
    np.save(tmp_path / "emb.npy", x)
    out = tmp_path / "ranked.csv"
    assert main(["anomaly", "rank", str(tmp_path / "emb.npy"), "--out", str(out),
                 "--top", "10"]) == 0
    table = pd.read_csv(out)
    assert set(table["frame"].iloc[:5]) == set(range(5))
    table["user_score"] = table["user_score"].astype("object")
    table.loc[0, "user_score"] = 5
    table.loc[1, "user_score"] = 0
    table.to_csv(out, index=False)
    assert main(["anomaly", "review", str(out)]) == 0
    assert (tmp_path / "ranked.csv.1.bak").exists()
    # a corrupted file: one clear line, exit 2, file untouched
    text = out.read_text().replace(",5\n", ",five\n")
    out.write_text(text)
    assert main(["anomaly", "review", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "user_score 'five'" in err[0]
    assert out.read_text() == text


def test_anomaly_rank_bad_input(tmp_path, capsys):
    (tmp_path / "bad.npy").write_text("not numpy")
    assert main(["anomaly", "rank", str(tmp_path / "bad.npy"), "--out",
                 str(tmp_path / "r.csv")]) == 2
    assert "cannot read embeddings" in capsys.readouterr().err
