from google import genai

client = genai.Client()
for attempt in range(3):
    try:
        response = client.models.generate_content(model="gemini-2.5-flash-lite", contents="Summarise the quarterly report.")
        print("ok", repr(response.text))
    except Exception as exc:  # noqa: BLE001
        print(type(exc).__name__, getattr(exc, "code", None))
