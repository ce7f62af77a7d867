# Project and location come from GOOGLE_CLOUD_PROJECT / GOOGLE_CLOUD_LOCATION.
from google import genai
from google.genai import types

client = genai.Client(vertexai=True)
for chunk in client.models.generate_content_stream(
    model="gemini-2.5-flash-lite",
    contents=["Explain DNS", "in two sentences."],
    config=types.GenerateContentConfig(temperature=0.4, max_output_tokens=64),
):
    print(chunk.text, end="|")
print()
