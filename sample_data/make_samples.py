"""Make the demo's sample papers (PDFs written for goldsmith, with PyMuPDF).

    python sample_data/make_samples.py

Six short papers that state their compute in different ways — GPU count and days, a TPU pod
slice and FLOPs, GPU-hours only, hardware only in an appendix, API costs, and one that
states nothing — so the demo shows every kind of field and evidence. ``proposals.jsonl`` is
a hand-written "model run" over them with the mistakes small models make (a wrong count
with an invented quote, GPU-hours taken for wall-clock time, a missed appendix).
"""

from __future__ import annotations

from pathlib import Path

import pymupdf

HERE = Path(__file__).resolve().parent

PAPERS: dict[str, tuple[str, list[str]]] = {
    "efficient_widgets.pdf": (
        "Efficient Widget Transformers",
        [
            "Ada Lovelace (1), Grace Hopper (2)\n(1) Department of Computer Science, University "
            "of Example\n(2) Example AI Labs Inc.\n\nAbstract\nWe introduce widget transformers, "
            "a family of models that learn to arrange widgets. We pre-train a 1.3B parameter "
            "model and fine-tune it on three benchmarks, where it improves the state of the art "
            "by a wide margin.\n\n1 Introduction\nWidgets are everywhere. Arranging them well "
            "is a hard combinatorial problem that has resisted learning-based approaches.",
            "2 Method\nOur model is a decoder-only transformer with 24 layers and a widget-aware "
            "positional encoding.\n\n3 Experimental Setup\nWe pre-train all models on 8x A100s "
            "(80GB) for 3 days using mixed precision and the AdamW optimizer with a cosine "
            "schedule. Fine-tuning takes a further 2 hours per benchmark on the same machine.\n\n"
            "4 Results\nWidget transformers reduce arrangement error by 31% on WidgetBench.",
            "5 Conclusion\nLearning to arrange widgets works.\n\nAcknowledgements\nThis work was "
            "supported by the National Science Foundation (NSF) under grant IIS-1234567 and by "
            "a gift from Example AI Labs. We thank the anonymous reviewers.",
        ],
    ),
    "pod_scale_lm.pdf": (
        "Scaling Language Models on Pod Slices",
        [
            "The Pod Team\nExample Research, Inc., Mountain View\n\nAbstract\nWe train a 62B "
            "parameter language model on a single pod slice and report what it costs.",
            "3 Training\nTraining ran on a TPU v4 pod slice of 256 chips in Google Cloud for two "
            "weeks. The total training compute was approximately 2.5 × 10^23 FLOPs, at a model "
            "FLOPs utilisation of 46%.\n\n4 Evaluation\nThe model matches larger models on "
            "reasoning benchmarks.",
            "5 Limitations\nWe did not study multilingual data.",
        ],
    ),
    "speech_gpu_hours.pdf": (
        "Self-Supervised Speech at Low Cost",
        [
            "Alan Turing, Katherine Johnson\nInstitute of Speech, University of Somewhere\n\n"
            "Abstract\nWe show that a self-supervised speech model can be pre-trained for a "
            "fraction of the usual cost.",
            "4 Setup\nThe full pre-training took about 1,200 GPU-hours on NVIDIA V100 GPUs "
            "(32GB). We use 960 hours of unlabeled audio from LibriSpeech.\n\nAcknowledgements\n"
            "Funded by the European Research Council (ERC) under grant agreement 101010.",
        ],
    ),
    "theory_of_widgets.pdf": (
        "A Theory of Widget Arrangements",
        [
            "Emmy Noether\nDepartment of Mathematics, Example College\n\nAbstract\nWe prove "
            "that every finite widget arrangement has a canonical form, and give tight bounds "
            "on the number of arrangements.",
            "2 Main Result\nTheorem 1. Every arrangement of n widgets is equivalent to exactly "
            "one canonical arrangement. Proof. By induction on n. The paper reports no "
            "experiments.",
        ],
    ),
    "appendix_hardware.pdf": (
        "Continual Widget Learning",
        [
            "Barbara Liskov\nUniversity of Example\n\nAbstract\nWe study continual learning of "
            "widget arrangements across 40 tasks.",
            "3 Experiments\nWe follow the protocol of prior work. Details of the hardware are "
            "given in Appendix B.",
            "4 Results\nOur method forgets 12% less than the best baseline.",
            "Appendix B: Compute\nAll experiments ran on the JUWELS Booster supercomputer, using "
            "four nodes with 4 NVIDIA A100 40GB GPUs each (16 GPUs in total). A full training "
            "run took 36 hours. We gratefully acknowledge the Gauss Centre for Supercomputing "
            "e.V. for funding this project by providing computing time.",
        ],
    ),
    "api_costs.pdf": (
        "[CLS] Tokens and [bold]Claims[/bold]: Evaluating GPT-4 with [1] Brackets",
        [
            "Ken Thompson\nExample University\n\nAbstract\nWe evaluate how language models "
            "treat bracketed tokens such as [CLS], [/] and [link=https://example.org].",
            "3 Setup\nWe fine-tune LLaMA-2 7B on a single NVIDIA RTX 4090 for 36h. Labels come "
            "from GPT-4 through the OpenAI API; annotation cost $1,200 in total.",
        ],
    ),
}


def write_paper(path: Path, title: str, pages: list[str]) -> None:
    doc = pymupdf.open()
    font = pymupdf.Font("helv")
    for number, text in enumerate(pages):
        page = doc.new_page(width=612, height=792)
        writer = pymupdf.TextWriter(page.rect)
        top = 72
        if number == 0:
            writer.fill_textbox(pymupdf.Rect(72, 60, 540, 130), title, font=font, fontsize=18)
            top = 140
        writer.fill_textbox(pymupdf.Rect(72, top, 540, 740), text, font=font, fontsize=10.5)
        writer.write_text(page)
    doc.set_metadata({"title": title, "producer": "goldsmith sample_data/make_samples.py"})
    # A fixed ID and dates keep the files byte-identical when they are made again.
    doc.save(path, garbage=4, deflate=True, no_new_id=True)


def main() -> None:
    for name, (title, pages) in PAPERS.items():
        write_paper(HERE / name, title, pages)
        print(f"wrote {name}")


if __name__ == "__main__":
    main()
