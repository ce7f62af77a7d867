from google import genai
from google.genai import types

client = genai.Client()
for chunk in client.models.generate_content_stream(
    model="gemini-2.5-flash-lite",
    contents="Tell me a short story about a fox and a lantern.",
    config=types.GenerateContentConfig(temperature=0.7, top_k=40),
):
    print(repr(chunk.text))
