import os

import google.generativeai as genai

genai.configure(api_key=os.environ["GOOGLE_API_KEY"])

model = genai.GenerativeModel(
    "gemini-1.5-pro",
    system_instruction="You are a terse assistant.",
    generation_config=genai.GenerationConfig(
        temperature=0.2,
        max_output_tokens=256,
        top_p=0.9,
        stop_sequences=["END"],
    ),
    safety_settings={
        "HARM_CATEGORY_HARASSMENT": "BLOCK_ONLY_HIGH",
        "HARM_CATEGORY_DANGEROUS_CONTENT": "BLOCK_NONE",
    },
)
response = model.generate_content("Write a haiku about moving house.")
print(response.text)
print(response.candidates[0].finish_reason.name)
print(response.usage_metadata.prompt_token_count, response.usage_metadata.total_token_count)
