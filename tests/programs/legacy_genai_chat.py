import os

import google.generativeai as genai

# transport="grpc" is what many services pinned; the test shim still routes it over REST.
genai.configure(api_key=os.environ["GOOGLE_API_KEY"], transport="grpc")

model = genai.GenerativeModel("gemini-1.5-pro", system_instruction="Answer in one line.")
chat = model.start_chat(
    history=[
        {"role": "user", "parts": ["Hi, I am planning a trip."]},
        {"role": "model", "parts": ["Great, where to?"]},
    ]
)
print(chat.send_message("Somewhere warm in March.").text)
print(chat.send_message("And what should I pack?").text)
print(len(chat.history))
