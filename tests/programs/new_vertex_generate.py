from google import genai
from google.genai import types

client = genai.Client(vertexai=True, project="acme-prod", location="us-central1")

response = client.models.generate_content(
    model="gemini-2.5-flash-lite",
    contents="Summarise: the printer on floor 3 is jammed again.",
    config=types.GenerateContentConfig(
        system_instruction="You summarise support tickets.",
        temperature=0.1,
        top_p=0.8,
        top_k=20,
        max_output_tokens=128,
        seed=42,
        safety_settings=[
            types.SafetySetting(
                category=types.HarmCategory.HARM_CATEGORY_HATE_SPEECH,
                threshold=types.HarmBlockThreshold.BLOCK_MEDIUM_AND_ABOVE,
            ),
            types.SafetySetting(
                category=types.HarmCategory.HARM_CATEGORY_DANGEROUS_CONTENT,
                threshold=types.HarmBlockThreshold.BLOCK_LOW_AND_ABOVE,
            ),
        ],
    ),
)
print(response.text)
print(response.usage_metadata.candidates_token_count)
