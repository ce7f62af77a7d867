# How a legacy caller sees server trouble: exceptions and blocked answers.
import google.generativeai as genai

model = genai.GenerativeModel("gemini-1.5-pro")
for attempt in range(3):
    try:
        response = model.generate_content("Summarise the quarterly report.")
        print("ok", repr(response.text))
    except Exception as exc:  # noqa: BLE001
        print(type(exc).__name__, getattr(exc, "code", None))
