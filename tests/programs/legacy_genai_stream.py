# No genai.configure() call: the SDK's default client (GOOGLE_API_KEY from the environment).
import google.generativeai as genai

model = genai.GenerativeModel("gemini-1.5-pro", generation_config={"temperature": 0.7, "top_k": 40})
for chunk in model.generate_content("Tell me a short story about a fox and a lantern.", stream=True):
    print(repr(chunk.text))
