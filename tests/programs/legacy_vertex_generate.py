import vertexai
from vertexai.generative_models import (
    GenerationConfig,
    GenerativeModel,
    HarmBlockThreshold,
    HarmCategory,
    SafetySetting,
)

vertexai.init(project="acme-prod", location="us-central1")

model = GenerativeModel(
    "gemini-1.5-pro-002",
    system_instruction=["You summarise support tickets."],
)
response = model.generate_content(
    "Summarise: the printer on floor 3 is jammed again.",
    generation_config=GenerationConfig(temperature=0.1, top_p=0.8, top_k=20, max_output_tokens=128, seed=42),
    safety_settings=[
        SafetySetting(
            category=HarmCategory.HARM_CATEGORY_HATE_SPEECH,
            threshold=HarmBlockThreshold.BLOCK_MEDIUM_AND_ABOVE,
        ),
        SafetySetting(
            category=HarmCategory.HARM_CATEGORY_DANGEROUS_CONTENT,
            threshold=HarmBlockThreshold.BLOCK_LOW_AND_ABOVE,
        ),
    ],
)
print(response.text)
print(response.usage_metadata.candidates_token_count)
