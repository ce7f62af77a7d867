import os

from google import genai
from google.genai import types

client = genai.Client(
    vertexai=True,
    project=os.environ["GOOGLE_CLOUD_PROJECT"],
    location=os.environ.get("GOOGLE_CLOUD_LOCATION", "us-central1"),
)
for chunk in client.models.generate_content_stream(
    model="gemini-2.5-flash-lite",
    contents=["Explain DNS", "in two sentences."],
    config=types.GenerateContentConfig(temperature=0.4, max_output_tokens=64),
):
    print(chunk.text, end="|")
print()
