import os

from google import genai
from google.genai import types

client = genai.Client(api_key=os.environ["GOOGLE_API_KEY"])

response = client.models.generate_content(
    model="gemini-2.5-flash-lite",
    contents="Write a haiku about moving house.",
    config=types.GenerateContentConfig(
        system_instruction="You are a terse assistant.",
        temperature=0.2,
        max_output_tokens=256,
        top_p=0.9,
        stop_sequences=["END"],
        safety_settings=[
            types.SafetySetting(category="HARM_CATEGORY_HARASSMENT", threshold="BLOCK_ONLY_HIGH"),
            types.SafetySetting(category="HARM_CATEGORY_DANGEROUS_CONTENT", threshold="BLOCK_NONE"),
        ],
    ),
)
print(response.text)
print(response.candidates[0].finish_reason.name)
print(response.usage_metadata.prompt_token_count, response.usage_metadata.total_token_count)
