"""Issue 12 through the stand-in: treatment sessions, the weekly PEG, /history's periods
and the change since the first session, /report for patients and staff, and /delete."""

from __future__ import annotations

import io
from datetime import timedelta

from pypdf import PdfReader

from bot import export
from tests.client import TelegramUser
from tests.conftest import STAFF_ID, run_due_prompts
from tests.seed import NOW, add_checkin, rows
from tests.test_history_privacy import weeks_of_check_ins
from tests.test_staff_reports import documents, export_key, parse_csv


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def count(services, table: str, user_id: int = 1001) -> int:
    return rows(services.settings.database, f"SELECT count(*) FROM {table} WHERE user_id = ?", (user_id,))[0][0]


async def course_of_treatment(patient: TelegramUser, services, clock) -> None:
    """Three weeks of check-ins (7s, then 4s), a first TMS session 14 days ago, typed."""
    await weeks_of_check_ins(patient, services, clock, [7] * 7 + [5] * 7 + [4] * 7)
    add_checkin(services.settings.database, 1001, NOW - timedelta(days=3), pain=4, note="hard day at work")
    await patient.send("/history")
    await patient.click("🗓 Note a treatment session")
    await patient.click("🧲 TMS session")
    await patient.click("⌨️ Another day")
    assert "Type the date" in patient.last.text
    await patient.send("7 Nov")  # NOW is Sat 21 Nov 2026, 09:00 in Los Angeles
    assert "Noted: a TMS session on Sat 7 Nov." in patient.last.text


async def test_a_session_noted_today_from_the_check_in_summary(patient: TelegramUser, services) -> None:
    await patient.send("/checkin")
    await patient.click("✅ I agree, start my check-ins")
    await patient.click("6")
    await patient.click("Finish")
    summary = patient.last
    await patient.click("🧲 I had TMS today")
    assert "Noted: a TMS session on Sat 21 Nov." in patient.last.text
    assert patient.message(summary.message_id).text == summary.text  # the summary stays
    # A double tap notes it once.
    await patient.click_on(summary, "🧲 I had TMS today")
    assert rows(services.settings.database, "SELECT kind, day FROM treatment_sessions")[0][:] == ("tms", "2026-11-21")
    assert count(services, "treatment_sessions") == 1
    await patient.click("↩️ Remove it (a mistake)")
    assert count(services, "treatment_sessions") == 0
    assert patient.unanswered_taps() == []


async def test_a_forged_or_future_session_day_is_refused(patient: TelegramUser, services) -> None:
    await patient.send("/checkin")
    await patient.click("✅ I agree, start my check-ins")
    await patient.click_data("ses:d:tms:20261122")  # tomorrow
    assert patient.callback_answer()["text"]
    await patient.click_data("ses:d:ketamine:20261399")
    assert count(services, "treatment_sessions") == 0
    await patient.click_data("ses:rm:999")
    assert patient.unanswered_taps() == []


async def test_a_typed_date_that_is_not_one_is_asked_again(patient: TelegramUser, services) -> None:
    await patient.send("/checkin")
    await patient.click("✅ I agree, start my check-ins")
    await patient.click_data("ses:k:ketamine")
    await patient.click("⌨️ Another day")
    await patient.send("soon")
    assert "didn't understand that date" in patient.last.text
    await patient.send("2026-11-20")
    assert "Noted: a ketamine treatment on Fri 20 Nov." in patient.last.text


async def test_history_shows_the_change_since_the_first_session(patient: TelegramUser, services, clock) -> None:
    await course_of_treatment(patient, services, clock)
    await patient.send("/history")
    text = patient.last.text
    assert "Since your first session (Sat 7 Nov)" in text
    assert "7.0/10 in the 7 days before it (check-ins: 7)" in text
    assert "4.0/10 in the last 7 days (check-ins: 8)" in text
    assert "That is 3.0 points lower (43% lower)." in text
    assert "IMMPACT; Dworkin and colleagues, J Pain 2008" in text
    assert "Your clinic will talk with you about what this means." in text
    # The chart: 30 days by default; the other periods from its buttons.
    photos = [message for message in patient.messages if message.kind == "photo"]
    assert "last 30 days" in photos[-1].text
    await patient.click_on(photos[-1], "90 days")
    photos = [message for message in patient.messages if message.kind == "photo"]
    assert "last 90 days" in photos[-1].text
    await patient.click_on(photos[-1], "7 days")
    assert "last 7 days" in [message for message in patient.messages if message.kind == "photo"][-1].text


async def test_weekly_peg_opt_in_answers_and_the_job(patient: TelegramUser, services, clock, bot) -> None:
    await patient.send("/checkin")
    await patient.click("✅ I agree, start my check-ins")
    await patient.click("6")  # one check-in, so /history has figures to show
    await patient.send("/reminders")
    await patient.click("09:00")
    await patient.click("📋 Weekly PEG check: off")
    assert "Krebs and colleagues" in patient.last.text
    await patient.click("✅ Turn on")
    assert "It is on. The next one comes on Sat 28 Nov." in patient.last.text
    await patient.click("✏️ Answer now")
    assert "1 of 3" in patient.last.text
    await patient.click("6")
    assert "2 of 3" in patient.last.text and "enjoyment of life" in patient.last.text
    await patient.click("5")
    await patient.click("7")
    assert "Your PEG score this week: 6.0 out of 10" in patient.last.text
    assert rows(services.settings.database, "SELECT pain, enjoyment, activity FROM peg_answers")[0][:] == (6, 5, 7)
    # A forged step on an answer that is not the patient's own.
    await patient.click_data("peg:3:999:4")
    assert patient.callback_answer()["show_alert"]

    # A week on, the job asks; run again at once, it does not ask twice.
    before = len(patient.messages)
    clock.advance(days=7, minutes=5)
    (job,) = bot.job_queue.get_jobs_by_name("weekly PEG")
    await job.run(bot)
    await job.run(bot)
    await patient.expect("Your weekly PEG check")
    assert len([m for m in patient.messages[before:] if "1 of 3" in m.text]) == 1
    await run_due_prompts(bot)  # the daily prompts are their own job
    await patient.send("/history")
    assert "Weekly PEG check (Sat 21 Nov): 6.0 out of 10." in patient.last.text


async def test_report_pdf_for_the_patient_notes_only_when_chosen(patient: TelegramUser, services, clock) -> None:
    await course_of_treatment(patient, services, clock)
    await patient.send("/report")
    assert "Your notes are left out unless you include them." in patient.last.text
    await patient.click("📄 Last 30 days")
    (document,) = documents(patient)
    assert document.filename == "pain-report-2026-11-21.pdf"
    text = pdf_text(document.file)
    assert "Ann" in text
    assert "23 Oct 2026 to 21 Nov 2026 (30 days)" in text
    assert "Average pain in the 7 days before it: 7.0" in text
    assert "Change: -3.0 points (-43%)" in text
    assert "Sun 15 Nov to Sat 21 Nov 7 4.0" in text  # the last calendar week: 7 check-ins, average 4.0
    assert "hard day at work" not in text

    await patient.send("/report")
    await patient.click("☐ Include my notes")
    await patient.click("📄 Last 90 days")
    text = pdf_text(documents(patient)[-1].file)
    assert "hard day at work" in text
    assert "(90 days)" in text


async def test_report_with_nothing_to_report_says_so(patient: TelegramUser) -> None:
    await patient.send("/report")
    assert "join the check-in program first" in patient.last.text
    await patient.send("/checkin")
    await patient.click("✅ I agree, start my check-ins")
    await patient.send("/report")
    await patient.click("📄 Last 30 days")
    assert "nothing to report yet" in patient.last.text
    assert documents(patient) == []


async def test_delete_erases_sessions_and_peg_answers(patient: TelegramUser, services, clock) -> None:
    await course_of_treatment(patient, services, clock)
    await patient.send("/reminders")
    await patient.click("09:00")
    await patient.click("📋 Weekly PEG check: off")
    await patient.click("✅ Turn on")
    await patient.click("✏️ Answer now")
    for value in ("3", "4", "5"):
        await patient.click(value)
    await patient.send("/mydata")
    data = documents(patient)[-1].file.decode("utf-8")
    assert "# treatment_sessions" in data and "2026-11-07" in data
    assert "# peg_answers" in data and "# peg_settings" in data
    for table in ("treatment_sessions", "peg_answers", "peg_settings"):
        assert count(services, table) == 1
    await patient.send("/delete")
    await patient.click("🗑 Yes, erase everything")
    for table in ("treatment_sessions", "peg_answers", "peg_settings", "checkins"):
        assert count(services, table) == 0


async def test_staff_report_of_one_patient_is_audited(patient: TelegramUser, standin, services, clock) -> None:
    await course_of_treatment(patient, services, clock)
    pseudonym = export.pseudonym(export_key(services), 1001)
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await staff.send("/start")
    await staff.send(f"/report {pseudonym}")
    (document,) = documents(staff)
    assert document.filename.startswith("pain-report-")
    assert pseudonym in document.text and "notes are not included" in document.text
    text = pdf_text(document.file)
    assert "(90 days)" in text and "Change: -3.0 points (-43%)" in text
    assert "hard day at work" not in text
    assert rows(services.settings.database, "SELECT action, amount, pseudonym FROM audit_log")[-1][:] == ("report", 90, pseudonym)
    await staff.send("/audit")
    assert f"made a 90-day pain report of {pseudonym}" in staff.last.text
    # Sessions are in the export too.
    await staff.send("/export")
    sessions_file = next(d for d in documents(staff) if d.filename.startswith("treatment-sessions-"))
    assert parse_csv(sessions_file.file)[1] == [pseudonym, "tms", "2026-11-07"]


async def test_a_forged_id_is_answered_politely(standin, bot, services) -> None:
    staff = TelegramUser(standin, STAFF_ID, first_name="Dana")
    await staff.send("/report P-000000000000")
    assert "No patient in the check-in program has the id P-000000000000" in staff.last.text
    await staff.send("/report <b>x</b>")
    assert "has the id <b>x</b>" in staff.last.text  # shown as typed, never as HTML
    assert documents(staff) == []
    assert rows(services.settings.database, "SELECT count(*) FROM audit_log")[0][0] == 0


async def test_a_patient_cannot_report_another_patients_id(patient: TelegramUser, standin, services, clock) -> None:
    await course_of_treatment(patient, services, clock)
    pseudonym = export.pseudonym(export_key(services), 1001)
    other = TelegramUser(standin, 1002, first_name="Bob")
    await other.send("/checkin")
    await other.click("✅ I agree, start my check-ins")
    await other.click("3")
    await other.send(f"/report {pseudonym}")
    assert "Reports about other people are for clinic staff only" in other.last.text
    await other.click("📄 Last 30 days")
    (document,) = documents(other)
    text = pdf_text(document.file)
    assert "Bob" in text and "Ann" not in text
    assert documents(patient) == []
